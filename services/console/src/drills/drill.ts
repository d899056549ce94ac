import type { Clock, Logger } from "@mlsd/service-kit";
import type { KnownService } from "../config";
import type { DrillReport } from "./report";

/** What a drill may use: the services' URLs, the admin token, the clock, and the drill's own settings. */
export interface DrillContext {
  urls: ReadonlyMap<KnownService, string>;
  adminToken: string;
  clock: Clock;
  logger: Logger;
  redisUrl: string | null;
  registryDir: string | null;
  /** The supervisor's pids file (@mlsd/supervisor): which process runs each service, and its restarts. */
  pidsFile: string | null;
  /** The admin URL of the fault proxy the services reach Redis through (redis-slow sets its fault). */
  redisProxyUrl: string | null;
  /** The pid file of the Kafka broker the services use (kafka-down freezes it). */
  kafkaPidFile: string | null;
  /** The cluster topology's settings (the cluster drills' only way in); null on the single topology. */
  cluster: ClusterDrillSettings | null;
  /** Progress lines the page and the CLI show while the drill runs. */
  say(line: string): void;
}

export interface ClusterDrillSettings {
  /** `services-up --topology cluster`'s topology.json: node addresses and pid files. */
  topologyFile: string | null;
  /** The load balancer's URL of each replicated design. */
  frontUrls: ReadonlyMap<"fraud" | "recommender", string>;
  /** HAProxy's statistics page. */
  loadBalancerStatsUrl: string | null;
  /** The event logger's offline store. */
  offlineStoreDir: string | null;
}

export interface DrillOptions {
  /** Seconds the fault lasts (redis-down) or the most the drill waits for the system's answer (bad-model). */
  faultSeconds: number;
  /** Seconds of probe traffic before the fault and after it. */
  baselineSeconds: number;
  afterSeconds: number;
  /** Probe requests per second to each design (overload: the base rate the multiple applies to). */
  rate: number;
  /** overload: the offered rate during the fault as a multiple of `rate`; drift-injected: the factor the shifted cards' amounts are multiplied by. */
  multiple?: number;
}

export interface Drill {
  name: string;
  description: string;
  /** The expectations, stated before anything runs. */
  expectations(options: DrillOptions): string[];
  /** Why it cannot run with this console's settings, or null. */
  unavailable(ctx: Omit<DrillContext, "say" | "adminToken">): string | null;
  run(ctx: DrillContext, options: DrillOptions): Promise<DrillReport>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every `everyMs` until it returns a value or `timeoutMs` passes (then null). */
export async function waitUntil<T>(probe: () => Promise<T | null>, timeoutMs: number, everyMs = 250): Promise<T | null> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value !== null) return value;
    if (Date.now() >= end) return null;
    await sleep(everyMs);
  }
}
