import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { RETRIEVAL_MODEL_NAME, retrievalFiles } from "@mlsd/model-formats/retrieval";
import { ModelRegistry } from "@mlsd/model-registry";
import { startService, type StartedServiceOf } from "@mlsd/service-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { retrievalService } from "./service";

const ADMIN_TOKEN = "retrieval-admin-token-0123";
const NLIST = 16;
const NPROBE = 4;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "retrieval-ivf-int-"));
const registryDir = path.join(tmp, "registry");
const tsx = path.resolve(import.meta.dirname, "../../../node_modules/.bin/tsx");
let trainerOutput = "";
const started: StartedServiceOf<typeof retrievalService>[] = [];

async function start(env: Record<string, string>): Promise<string> {
  const service = await startService(retrievalService, { PORT: "0", LOG_LEVEL: "silent", MODEL_REGISTRY_DIR: registryDir, ADMIN_TOKEN, ...env });
  started.push(service);
  return `http://127.0.0.1:${service.port}`;
}

async function candidates(base: string, userId: string, k: number, search?: "exact"): Promise<{ source: string; degraded: boolean; degradedReason: string | null; ids: string[]; scores: number[] }> {
  const res = await fetch(`${base}/v1/candidates${search ? `?search=${search}` : ""}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ userId, k }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { source: string; degraded: boolean; degradedReason: string | null; candidates: { itemId: string; score: number }[] };
  return { ...body, ids: body.candidates.map((c) => c.itemId), scores: body.candidates.map((c) => c.score) };
}

const USERS = Array.from({ length: 20 }, (_, u) => String(u * 15));

beforeAll(async () => {
  // The trainer as an operator runs it: its CLI, a small world, an IVF index.
  const trainer = path.resolve(import.meta.dirname, "../../../jobs/trainer");
  const args = ["src/cli.ts", "recs", "--preset", "small", "--users", "300", "--items", "800", "--sessions", "6", "--seed", "3", "--epochs", "2", "--quiet"];
  args.push("--index", "ivf", "--nlist", String(NLIST), "--nprobe", String(NPROBE), "--registry", registryDir, "--reports", path.join(tmp, "reports"));
  trainerOutput = (await promisify(execFile)(tsx, args, { cwd: trainer, maxBuffer: 16 * 1024 * 1024 })).stdout;
}, 180_000);

afterAll(async () => {
  for (const service of started) await service.shutdown("test over");
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("retrieval serving a trained IVF artifact", () => {
  it("was published by the trainer with its index.ivf and recall table", () => {
    expect(trainerOutput).toMatch(new RegExp(`IVF recall@100 vs exact at nprobe ${NPROBE}: 0\\.\\d{4}`));
    const entry = new ModelRegistry(registryDir).open(RETRIEVAL_MODEL_NAME, "current");
    expect(Object.keys(entry.manifest.files).sort()).toEqual(retrievalFiles("ivf").sort());
    expect(entry.manifest.extra).toMatchObject({ index: { kind: "ivf", params: { nlist: NLIST, nprobe: NPROBE } } });
  });

  it("with SEARCH_NPROBE = nlist, answers exactly what exact search answers, and says so in /readyz and /v1/model", async () => {
    const base = await start({ SEARCH: "ivf", SEARCH_NPROBE: String(NLIST) });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.stringify(await ready.json())).toContain(`: ivf index, nprobe ${NLIST}`);
    const model = (await (await fetch(`${base}/v1/model`)).json()) as Record<string, unknown>;
    expect(model).toMatchObject({ search: "ivf", items: 800, index: { kind: "ivf", size: 800, nprobe: NLIST, params: { nlist: NLIST, nprobe: NPROBE } }, indexError: null });
    for (const user of USERS) {
      const ivf = await candidates(base, user, 100);
      expect(ivf).toMatchObject({ source: "ivf", degraded: false });
      const exact = await candidates(base, user, 100, "exact");
      expect(new Set(ivf.ids)).toEqual(new Set(exact.ids));
      ivf.scores.forEach((s, j) => expect(s).toBeCloseTo(exact.scores[j] as number, 4));
    }
  });

  it("with the index's own nprobe (4 of 16 lists), trades recall for fewer items scanned", async () => {
    const base = await start({ SEARCH: "ivf" });
    expect(((await (await fetch(`${base}/v1/model`)).json()) as { index: { nprobe: number } }).index.nprobe).toBe(NPROBE);
    let found = 0;
    for (const user of USERS) {
      const ivf = await candidates(base, user, 100);
      const exact = new Set((await candidates(base, user, 100, "exact")).ids);
      found += ivf.ids.filter((id) => exact.has(id)).length;
    }
    const recall = found / (100 * USERS.length);
    expect(recall).toBeGreaterThan(0.5);
    expect(recall).toBeLessThan(1);
  });

  it("configured for HNSW, refuses the IVF index and serves exact search, degraded, saying why", async () => {
    const base = await start({ SEARCH: "hnsw" });
    expect(JSON.stringify(await (await fetch(`${base}/readyz`)).json())).toContain("HNSW index refused");
    const answer = await candidates(base, USERS[0] as string, 10);
    expect(answer).toMatchObject({ source: "exact", degraded: true });
    expect(answer.degradedReason).toContain("is ivf, expected hnsw");
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^retrieval_index_fallback(\{[^}]*\})? 1$/m);
  });

  it("exits 2 at start-up, naming the setting, when the knob belongs to the other index", async () => {
    const failed = await promisify(execFile)(tsx, ["src/main.ts"], {
      cwd: path.resolve(import.meta.dirname, ".."),
      env: { ...process.env, PORT: "0", MODEL_REGISTRY_DIR: registryDir, SEARCH: "ivf", SEARCH_EF: "200" },
    }).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stderr).toContain("SEARCH_EF");
    expect(failed?.stderr).toContain("is HNSW's knob, but SEARCH is ivf");
  });
});
