// Where a CPU profile's busy time goes, by library: the bench prints it for BENCH_CPU_PROFILE runs.

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Wall time the profiles cover, seconds. */
  seconds: number;
  /** Share of that time the main thread ran JavaScript, GC or native code. */
  busyShare: number;
  /** Share of busy time by owner: a package under node_modules, a workspace package, GC, node's own code. */
  shares: Map<string, number>;
}

/** Idle, and the inspector's own work of handing a profile over (it runs in the measured time). */
const NOT_BUSY = new Set(["(idle)", "dispatch"]);

function owner(frame: ProfileNode["callFrame"]): string {
  if (frame.functionName === "(garbage collector)") return "GC";
  const url = frame.url.replace(/^file:\/\//, "");
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1] !== undefined) return pkg[1];
  const workspace = /\/(packages|services|jobs)\/([^/]+)\//.exec(url);
  if (workspace !== null) return `${workspace[1]}/${workspace[2]}`;
  if (url.startsWith("node:")) return "node internals (buffers, streams, net)";
  return "V8 builtins and native";
}

export function summariseProfiles(profiles: CpuProfile[]): ProfileSummary {
  let total = 0;
  let busy = 0;
  const shares = new Map<string, number>();
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    for (let i = 0; i < profile.samples.length; i++) {
      const micros = profile.timeDeltas[i] ?? 0;
      const node = byId.get(profile.samples[i]!);
      total += micros;
      if (node === undefined || NOT_BUSY.has(node.callFrame.functionName)) continue;
      busy += micros;
      const who = owner(node.callFrame);
      shares.set(who, (shares.get(who) ?? 0) + micros);
    }
  }
  for (const [who, micros] of shares) shares.set(who, busy > 0 ? micros / busy : 0);
  return { seconds: total / 1e6, busyShare: total > 0 ? busy / total : 0, shares };
}
