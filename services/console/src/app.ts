import fs from "node:fs";
import { RecommendationsRequestSchema, ScoreTransactionRequestSchema } from "@mlsd/contracts";
import { AppError, createServiceApp, defineRoute, Reply, type HttpDeps, type ServiceApp } from "@mlsd/service-kit";
import { z } from "zod";
import { KNOWN_SERVICES, type KnownService } from "./config";
import type { DrillRunner } from "./drills/runner";
import { driftView, modelViews, pipelineView } from "./overview";
import { DESIGNS, readClaims, walkthrough } from "./walkthrough";
import type { PipelineSpec } from "./pipelines";
import type { Scraper } from "./scraper";

export interface ConsoleDeps extends HttpDeps {
  scraper: Scraper;
  pipelines: readonly PipelineSpec[];
  drills: DrillRunner;
  inspectTimeoutMs: number;
  windowSeconds: number;
  /** The lab's published claim results (docs/claims), cited by the walkthroughs; null: none. */
  claimsDir: string | null;
}

/** The pages and their files, read once: they are committed static files, no build step and no CDN. */
const PUBLIC = new URL("../public/", import.meta.url);
const STATIC: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/console.js": { file: "console.js", type: "text/javascript; charset=utf-8" },
  "/console.css": { file: "console.css", type: "text/css; charset=utf-8" },
  "/dom.js": { file: "dom.js", type: "text/javascript; charset=utf-8" },
  "/walkthrough.html": { file: "walkthrough.html", type: "text/html; charset=utf-8" },
  "/walkthrough.js": { file: "walkthrough.js", type: "text/javascript; charset=utf-8" },
};

const DrillStartSchema = z
  .object({
    faultSeconds: z.number().positive().max(600).optional(),
    baselineSeconds: z.number().min(0).max(120).optional(),
    afterSeconds: z.number().min(0).max(300).optional(),
    rate: z.number().positive().max(200).optional(),
    /** overload: offered rate as a multiple of `rate`; drift-injected: the factor on the shifted cards' amounts. */
    multiple: z.number().gt(1).max(100).optional(),
    /** Write the report to DRILL_REPORTS_DIR/<drill>.md. */
    save: z.boolean().optional(),
    /** The command line to print in the saved report (the CLI sends its own). */
    command: z.string().max(500).optional(),
  })
  .strict();

/** Sends one request to a design the way a client would and returns its answer with what it took. */
async function inspect(url: string | undefined, target: KnownService, path: string, body: unknown, timeoutMs: number) {
  if (!url) throw new AppError("CONFLICT", `${target} is not in SERVICE_URLS`);
  const t0 = performance.now();
  let res: Response;
  try {
    res = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new AppError("UNAVAILABLE", `${target} did not answer: ${(error as Error).message}`);
  }
  const text = await res.text();
  let response: unknown = text;
  try {
    response = JSON.parse(text) as unknown;
  } catch {
    // Not JSON: shown as text.
  }
  return { target, url: `${url}${path}`, request: body, status: res.status, roundTripMs: Math.round((performance.now() - t0) * 1000) / 1000, response };
}

export function createApp(deps: ConsoleDeps): ServiceApp {
  const { scraper, drills } = deps;
  const files = Object.fromEntries(Object.entries(STATIC).map(([route, f]) => [route, { body: fs.readFileSync(new URL(f.file, PUBLIC)), type: f.type }]));
  const staticRoutes = Object.entries(files).map(([route, f]) =>
    defineRoute({ method: "GET", path: route, summary: `The console page: ${STATIC[route]?.file}`, produces: f.type, handler: () => Reply.text(200, f.body, f.type, { "cache-control": "no-cache" }) }),
  );
  const app: ServiceApp = createServiceApp({
    ...deps,
    info: { title: "console", description: "The control room: both designs as live pipelines against their budgets, a request inspector, drills" },
    routes: [
      ...staticRoutes,
      defineRoute({
        method: "GET",
        path: "/api/overview",
        summary: "Both pipelines (per-stage p50/p99 against the budgets, throughput, error, fallback and degraded rates), models and arms, rollouts, drift, each service's state",
        handler: async () => {
          let { latest, start } = scraper.window();
          if (!latest) {
            latest = await scraper.scrapeNow();
            start = null;
          }
          const rollouts = latest.services.get("rollout-controller")?.json["/v1/rollouts"] as { running: unknown[]; finished: unknown[] } | undefined;
          return {
            scrapedAt: new Date(latest.at).toISOString(),
            windowSeconds: start ? Math.round((latest.at - start.at) / 100) / 10 : null,
            targetWindowSeconds: deps.windowSeconds,
            services: [...latest.services.values()].map((s) => ({ name: s.name, url: s.url, up: s.up, ready: s.ready, error: s.error, readiness: s.readiness, scrapeMs: s.ms, json: Object.keys(s.json) })),
            pipelines: deps.pipelines.map((p) => pipelineView(p, latest, start)),
            models: modelViews(latest),
            drift: driftView(latest),
            rollouts: rollouts ? { running: rollouts.running, finished: rollouts.finished.slice(-5) } : null,
          };
        },
      }),
      defineRoute({
        method: "GET",
        path: "/api/walkthrough/:design",
        summary: "A design in the order of the interview framework (requirements, ML framing, metrics, data, features, model, serving, monitoring): each step's points, this system's live numbers, and the claims that back it with their verdicts",
        params: z.object({ design: z.enum(DESIGNS) }),
        handler: async ({ params }) => {
          let { latest, start } = scraper.window();
          if (!latest) {
            latest = await scraper.scrapeNow();
            start = null;
          }
          const spec = deps.pipelines.find((p) => p.design === params.design);
          const rollouts = (latest.services.get("rollout-controller")?.json["/v1/rollouts"] as { running: unknown[]; finished: unknown[] } | undefined) ?? null;
          const live = { pipeline: spec ? pipelineView(spec, latest, start) : null, models: modelViews(latest), drift: driftView(latest), rollouts };
          return { design: params.design, scrapedAt: new Date(latest.at).toISOString(), steps: walkthrough(params.design, live, readClaims(deps.claimsDir)) };
        },
      }),
      defineRoute({
        method: "POST",
        path: "/api/inspect/recommendation",
        summary: "Send one recommendation request through the recommender and return its answer (stages and their times, fallback and reason, model versions and arms)",
        body: RecommendationsRequestSchema,
        handler: ({ body }) => inspect(scraper.urls.get("recommender"), "recommender", "/v1/recommendations", body, deps.inspectTimeoutMs),
      }),
      defineRoute({
        method: "POST",
        path: "/api/inspect/transaction",
        summary: "Score one transaction through the fraud service and return its answer (stages and their times, rule, reason codes, degraded reason, model version and arm)",
        body: ScoreTransactionRequestSchema,
        handler: ({ body }) => inspect(scraper.urls.get("fraud"), "fraud", "/v1/transactions/score", body, deps.inspectTimeoutMs),
      }),
      defineRoute({
        method: "GET",
        path: "/api/openapi/:service",
        summary: "A service's OpenAPI document, fetched from its /openapi.json (the console's own under the name console), for the page's API browser",
        params: z.object({ service: z.enum(["console", ...KNOWN_SERVICES]) }),
        handler: async ({ params }) => {
          if (params.service === "console") return app.openapi();
          const url = scraper.urls.get(params.service);
          if (!url) throw new AppError("NOT_FOUND", `${params.service} is not in SERVICE_URLS`);
          let res: Response;
          try {
            res = await fetch(`${url}/openapi.json`, { signal: AbortSignal.timeout(deps.inspectTimeoutMs) });
          } catch (error) {
            throw new AppError("UNAVAILABLE", `${params.service} did not answer: ${(error as Error).message}`);
          }
          if (!res.ok) throw new AppError("UNAVAILABLE", `${params.service} answered /openapi.json with ${res.status}`);
          return (await res.json()) as unknown;
        },
      }),
      defineRoute({
        method: "GET",
        path: "/api/drills",
        summary: "The drills (what each expects, whether it can run here) and the recent runs",
        handler: () => ({ drills: drills.list(), runs: drills.recent() }),
      }),
      defineRoute({
        method: "POST",
        path: "/api/drills/:name",
        summary: "Start a drill (one at a time); poll GET /api/drills/runs/:id for its progress and scored report",
        auth: "admin",
        params: z.object({ name: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, "not a drill name") }),
        body: DrillStartSchema,
        status: 202,
        handler: ({ params, body }) => {
          const { save, command, ...options } = body;
          return drills.start(params.name, options, save ?? false, command ?? `POST /api/drills/${params.name} ${JSON.stringify(body)}`);
        },
      }),
      defineRoute({
        method: "GET",
        path: "/api/drills/runs/:id",
        summary: "One drill run: its log so far, and its scored report once done",
        params: z.object({ id: z.string().min(1).max(100) }),
        handler: ({ params }) => drills.get(params.id),
      }),
    ],
  });
  return app;
}
