import { readFile } from "node:fs/promises";

/** The parts of a V8 `.cpuprofile` (node --cpu-prof) this summary reads. */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  /** Sampled time inside the window, idle included. */
  totalMs: number;
  idleMs: number;
  /** Time in a function's own code. */
  self: ProfileRow[];
  /** Time with the function anywhere on the stack (each sample counted once per function). */
  inclusive: ProfileRow[];
  /** Own time by where the code lives: a package, a service, node's internals, GC. */
  byArea: ProfileRow[];
}

const SPECIAL = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

function areaOf(url: string, name: string): string {
  if (SPECIAL.has(name)) return name;
  if (url.startsWith("node:")) return "node internals";
  if (url === "") return "native / V8";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `npm ${nm[1]}`;
  const ws = /\/(packages|services)\/([^/]+)\//.exec(url);
  if (ws) return `${ws[1]}/${ws[2]}`;
  return url;
}

function label(node: ProfileNode, root: string): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (SPECIAL.has(functionName)) return functionName;
  const where = url.replace(/^file:\/\//, "").replace(root, "").replace(/^.*node_modules\//, "");
  // TypeScript run through tsx is profiled as transpiled code: its line numbers mean nothing.
  const line = where.endsWith(".ts") ? "" : `:${lineNumber + 1}`;
  return `${functionName || "(anonymous)"} ${where}${line}`;
}

/**
 * Where the CPU went between two instants of the monotonic clock (V8 stamps samples with it, so
 * the load run's window can be cut out of a profile that also holds start-up and shutdown).
 */
export async function summarizeCpuProfile(file: string, window: { fromUs: number; toUs: number } | null, repoRoot: string, top = 20): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const root = repoRoot.endsWith("/") ? repoRoot : `${repoRoot}/`;

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let t = profile.startTime;
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    // A sample's time is the gap to the next one.
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    if (window && (t < window.fromUs || t > window.toUs)) continue;
    const node = byId.get(profile.samples[i] as number);
    if (!node) continue;
    total += dt;
    if (node.callFrame.functionName === "(idle)") {
      idle += dt;
      continue;
    }
    add(self, label(node, root), dt);
    add(byArea, areaOf(node.callFrame.url, node.callFrame.functionName), dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id) as ProfileNode;
      const key = label(frame, root);
      if (frame.callFrame.functionName === "(root)" || seen.has(key)) continue;
      seen.add(key);
      add(inclusive, key, dt);
    }
  }
  const busy = total - idle;
  const rows = (m: Map<string, number>, n: number): ProfileRow[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, ms, share: busy > 0 ? ms / busy : 0 }));
  return { totalMs: total, idleMs: idle, self: rows(self, top), inclusive: rows(inclusive, top), byArea: rows(byArea, top) };
}

export function profileMarkdown(summary: ProfileSummary, title: string): string {
  const table = (rows: ProfileRow[]) =>
    ["| function / area | ms | share of busy time |", "|---|---:|---:|", ...rows.map((r) => `| \`${r.name.replaceAll("|", "\\|")}\` | ${r.ms.toFixed(0)} | ${(r.share * 100).toFixed(1)} % |`)].join("\n");
  const busy = summary.totalMs - summary.idleMs;
  return [
    `# ${title}`,
    "",
    `Sampled ${(summary.totalMs / 1000).toFixed(1)} s of the load window: busy ${(busy / 1000).toFixed(1)} s (${((busy / Math.max(1, summary.totalMs)) * 100).toFixed(0)} % of one core), idle ${(summary.idleMs / 1000).toFixed(1)} s.`,
    "",
    "## Own time by area",
    "",
    table(summary.byArea),
    "",
    "## Own time by function",
    "",
    table(summary.self),
    "",
    "## Inclusive time by function",
    "",
    table(summary.inclusive),
    "",
  ].join("\n");
}
