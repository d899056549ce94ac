import { parseArgs } from "node:util";

export const MODEL_USAGE = `usage: npm run model -- <command> [options]

  list                                   every model: versions, aliases, pins
  show <model>                           versions with their metrics and aliases
  history <model> [--limit N]            who moved which alias, when and why
  promote <model> --reason TEXT [--from candidate|ALIAS|VERSION] [--force]
                                         current <- the candidate; the old current becomes previous
  rollback <model> --reason TEXT         swap current and previous (again: roll forward)
  pin <model> <alias> --reason TEXT [--version V] [--force]
                                         automatic moves of the alias are refused until unpinned
  unpin <model> <alias> --reason TEXT
  alias <model> <alias> <version> --reason TEXT
                                         point a candidate or a named arm (challenger, ...) at a version

options:
  --url URL        the rollout controller (default http://127.0.0.1:8089)
  --actor NAME     who you are, recorded as admin:NAME (default: your login name)
  --json           print the server's JSON answer instead of text
  moves need the admin token in MLSD_ADMIN_TOKEN

exit status: 0 done; 1 refused (the server's reason is printed) or unreachable; 2 usage;
3 moved, but a service did not reload (it keeps its model until it does)
`;

export interface ModelCliEnv {
  MLSD_ADMIN_TOKEN?: string | undefined;
  /** The default actor. */
  user?: string | undefined;
}

export interface ModelCliIo {
  out(text: string): void;
  err(text: string): void;
}

type MoveCommand = "promote" | "rollback" | "pin" | "unpin" | "alias";

interface Move {
  alias: string;
  from: string | null;
  to: string | null;
  at: string;
  by: string;
  reason: string;
  action: string;
  automatic: boolean;
  overrodePin: { by: string; reason: string } | null;
  overrodeChecks: string[] | null;
}

interface MoveAnswer {
  model: string;
  version: string;
  moves: Move[];
  compatibility: { ok: boolean; reasons: string[]; notes: string[] } | null;
  reloads: { url: string; ok: boolean; status: number | null; body: unknown; ms: number }[];
}

class UsageError extends Error {}

/** The positional arguments each command takes. */
const ARITY: Record<string, string[]> = {
  list: [],
  show: ["model"],
  history: ["model"],
  promote: ["model"],
  rollback: ["model"],
  pin: ["model", "alias"],
  unpin: ["model", "alias"],
  alias: ["model", "alias", "version"],
};

/**
 * `npm run model -- ...`: the registry's admin API from a terminal. Returns the exit status;
 * the entry point (model-cli.ts) passes the environment and exits with it.
 */
export async function runModelCli(argv: readonly string[], env: ModelCliEnv, io: ModelCliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        url: { type: "string", default: "http://127.0.0.1:8089" },
        json: { type: "boolean", default: false },
        reason: { type: "string" },
        from: { type: "string" },
        version: { type: "string" },
        actor: { type: "string" },
        limit: { type: "string" },
        force: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${MODEL_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (values.help) {
    io.out(MODEL_USAGE);
    return 0;
  }
  try {
    if (!command || !(command in ARITY)) throw new UsageError(command ? `unknown command "${command}"` : "which command?");
    const names = ARITY[command] as string[];
    if (args.length !== names.length) throw new UsageError(`${command} takes ${names.length ? names.map((n) => `<${n}>`).join(" ") : "no arguments"}, got ${args.length ? args.join(" ") : "none"}`);
    const arg = Object.fromEntries(names.map((n, i) => [n, args[i] as string])) as Record<string, string>;
    const base = values.url.replace(/\/$/, "");
    const model = encodeURIComponent(arg.model ?? "");

    if (command === "list" || command === "show" || command === "history") {
      let path = command === "list" ? "/v1/models" : command === "show" ? `/v1/models/${model}` : `/v1/models/${model}/history`;
      if (command === "history" && values.limit !== undefined) {
        if (!/^[1-9]\d*$/.test(values.limit)) throw new UsageError(`--limit must be a positive integer, got "${values.limit}"`);
        path += `?limit=${values.limit}`;
      }
      const answer = await call(`${base}${path}`, "GET", undefined, undefined);
      if (!answer.ok) return refused(answer, values.json, io);
      io.out(values.json ? JSON.stringify(answer.body, null, 2) + "\n" : render(command, answer.body));
      return 0;
    }

    const token = env.MLSD_ADMIN_TOKEN;
    if (!token) throw new UsageError(`${command} needs the admin token: set MLSD_ADMIN_TOKEN (the demo prints it)`);
    const actor = values.actor ?? (env.user && /^[A-Za-z0-9._@-]{1,64}$/.test(env.user) ? env.user : undefined);
    const body: Record<string, unknown> = { ...(values.reason !== undefined ? { reason: values.reason } : {}), ...(actor ? { actor } : {}) };
    const move = command as MoveCommand;
    if (move === "promote") Object.assign(body, values.from ? { from: values.from } : {}, values.force ? { force: true } : {});
    if (move === "pin") Object.assign(body, { alias: arg.alias }, values.version ? { version: values.version } : {}, values.force ? { force: true } : {});
    if (move === "unpin") Object.assign(body, { alias: arg.alias });
    if (move === "alias") Object.assign(body, { alias: arg.alias, version: arg.version });
    const answer = await call(`${base}/v1/models/${model}/${move}`, "POST", body, token);
    if (!answer.ok) return refused(answer, values.json, io);
    const result = answer.body as MoveAnswer;
    io.out(values.json ? JSON.stringify(result, null, 2) + "\n" : renderMove(move, result));
    const failed = result.reloads.filter((r) => !r.ok);
    if (failed.length > 0) {
      if (!values.json) io.err(`moved, but ${failed.length} of ${result.reloads.length} services did not reload; they keep their model until they do\n`);
      return 3;
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\n\n${MODEL_USAGE}`);
      return 2;
    }
    io.err(`${(error as Error).message}\n`);
    return 1;
  }
}

interface Answer {
  ok: boolean;
  status: number;
  body: unknown;
}

async function call(url: string, method: "GET" | "POST", body: unknown, token: string | undefined): Promise<Answer> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(120_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach the rollout controller at ${url}: ${cause?.code ?? cause?.message ?? (error as Error).message} (start it, or pass --url)`);
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // left as text
  }
  return { ok: res.ok, status: res.status, body: parsed };
}

function refused(answer: Answer, json: boolean, io: ModelCliIo): number {
  if (json) {
    io.out(JSON.stringify(answer.body, null, 2) + "\n");
    return 1;
  }
  const error = (answer.body as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
  if (!error) {
    io.err(`refused (HTTP ${answer.status}): ${String(answer.body).slice(0, 500)}\n`);
    return 1;
  }
  const lines = [`refused (HTTP ${answer.status} ${error.code}): ${error.message}`];
  const details = error.details;
  if (Array.isArray(details)) for (const d of details as { field?: string; message?: string }[]) lines.push(`  ${d.field}: ${d.message}`);
  const reasons = (details as { reasons?: unknown } | null)?.reasons;
  if (Array.isArray(reasons)) for (const r of reasons) lines.push(`  - ${String(r)}`);
  io.err(lines.join("\n") + "\n");
  return 1;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

function pinText(pins: Record<string, { by: string; reason: string }>): string {
  const entries = Object.entries(pins);
  return entries.length ? entries.map(([alias, p]) => `${alias} (by ${p.by}: ${p.reason})`).join("; ") : "-";
}

function numbers(metrics: Record<string, unknown> | null): string {
  if (!metrics) return "-";
  const shown = Object.entries(metrics)
    .filter(([, v]) => typeof v === "number" && Number.isFinite(v))
    .slice(0, 4)
    .map(([k, v]) => `${k}=${Number((v as number).toPrecision(4))}`);
  return shown.length ? shown.join(" ") : "-";
}

function render(command: "list" | "show" | "history", body: unknown): string {
  if (command === "list") {
    const models = (body as { models: { model: string; versions: number; aliases: Record<string, string>; pins: Record<string, { by: string; reason: string }> }[] }).models;
    if (models.length === 0) return "the registry holds no model yet\n";
    return table(
      ["model", "versions", "current", "previous", "candidate", "other aliases", "pinned"],
      models.map((m) => {
        const { current, previous, candidate, ...others } = m.aliases;
        const other = Object.entries(others).map(([a, v]) => `${a}=${v}`);
        return [m.model, String(m.versions), current ?? "-", previous ?? "-", candidate ?? "-", other.length ? other.join(" ") : "-", pinText(m.pins)];
      }),
    );
  }
  if (command === "show") {
    const m = body as {
      model: string;
      aliases: Record<string, string>;
      pins: Record<string, { by: string; reason: string }>;
      versions: { version: string; aliases: string[]; createdAt: string | null; featureSchemaHash: string | null; metrics: Record<string, unknown> | null; error: string | null }[];
    };
    const aliases = Object.entries(m.aliases).map(([a, v]) => `${a}=${v}`);
    return (
      `${m.model}: ${m.versions.length} versions; aliases ${aliases.length ? aliases.join(" ") : "none"}; pinned: ${pinText(m.pins)}\n\n` +
      table(
        ["version", "created", "aliases", "feature schema", "metrics"],
        m.versions.map((v) => [v.version, v.createdAt ? v.createdAt.replace("T", " ").slice(0, 16) : "-", v.aliases.join(",") || "-", v.featureSchemaHash ?? "-", v.error ? `unreadable: ${v.error}` : numbers(v.metrics)]),
      )
    );
  }
  const moves = (body as { moves: Move[] }).moves;
  if (moves.length === 0) return "no alias has moved yet\n";
  return moves.map((m) => `${m.at}  ${moveLine(m)}`).join("\n") + "\n";
}

function moveLine(m: Move): string {
  const flags = [m.automatic ? "automatic" : "", m.overrodePin ? `overrode the pin by ${m.overrodePin.by} (${m.overrodePin.reason})` : "", m.overrodeChecks ? `overrode checks: ${m.overrodeChecks.join("; ")}` : ""].filter(Boolean);
  return `${m.action.padEnd(8)} ${m.alias.padEnd(10)} ${m.from ?? "(none)"} -> ${m.to ?? "(removed)"}  by ${m.by}: ${m.reason}${flags.length ? `  [${flags.join("; ")}]` : ""}`;
}

function renderMove(command: MoveCommand, r: MoveAnswer): string {
  const lines = [`${r.model}: ${command} done`, ...r.moves.map((m) => `  ${moveLine(m)}`)];
  if (r.compatibility) {
    lines.push(`compatibility: ${r.compatibility.ok ? "ok" : `FAILED, forced: ${r.compatibility.reasons.join("; ")}`}`);
    for (const n of r.compatibility.notes) lines.push(`  note: ${n}`);
  }
  for (const reload of r.reloads) {
    const detail = reload.ok ? JSON.stringify(reload.body) : typeof reload.body === "string" ? reload.body : JSON.stringify((reload.body as { error?: unknown })?.error ?? reload.body);
    lines.push(`reload ${reload.url}: ${reload.ok ? "ok" : "FAILED"} ${reload.status ?? ""} ${detail.slice(0, 200)} (${Math.round(reload.ms)} ms)`.replace(/\s+/g, " "));
  }
  if (r.reloads.length === 0 && r.moves.some((m) => m.from !== m.to)) lines.push("no service to reload for this model (RELOAD_URLS)");
  return lines.join("\n") + "\n";
}
