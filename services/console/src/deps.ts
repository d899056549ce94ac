import { fileURLToPath } from "node:url";
import { DEFAULT_BUDGETS_PATH, loadBudgets } from "@mlsd/budgets";
import { clockFromConfig, httpDeps, type ServiceContext } from "@mlsd/service-kit";
import type { ConsoleDeps } from "./app";
import { frontUrls, serviceUrls, type ConsoleConfig } from "./config";
import type { ClusterDrillSettings } from "./drills/drill";
import { DrillRunner } from "./drills/runner";
import { pipelines } from "./pipelines";
import { Scraper } from "./scraper";

/** The scraper on its timer, the pipelines drawn from the budgets file, and the drill runner. */
export async function createDeps(ctx: ServiceContext<ConsoleConfig>): Promise<ConsoleDeps> {
  const { config, logger } = ctx;
  const urls = serviceUrls(config);
  const budgets = await loadBudgets(config.BUDGETS_FILE ?? DEFAULT_BUDGETS_PATH);
  const scraper = new Scraper(urls, { intervalMs: config.SCRAPE_INTERVAL_MS, timeoutMs: config.SCRAPE_TIMEOUT_MS, windowMs: config.WINDOW_SECONDS * 1000, logger });
  scraper.start();
  ctx.closers.add("scraper", () => scraper.stop());
  const drills = new DrillRunner(
    { urls, adminToken: config.ADMIN_TOKEN, clock: clockFromConfig(config), logger, redisUrl: config.DRILL_REDIS_URL ?? null, registryDir: config.MODEL_REGISTRY_DIR ?? null, pidsFile: config.DRILL_PIDS_FILE ?? null, kafkaPidFile: config.DRILL_KAFKA_PID_FILE ?? null, redisProxyUrl: config.DRILL_REDIS_PROXY_URL?.replace(/\/$/, "") ?? null, cluster: clusterSettings(config) },
    config.DRILL_REPORTS_DIR,
  );
  ctx.closers.add("drills", () => drills.drain());
  const claimsDir = config.CLAIMS_DIR ?? fileURLToPath(new URL("../../../docs/claims", import.meta.url));
  return { ...httpDeps(ctx), scraper, pipelines: pipelines(budgets), drills, inspectTimeoutMs: config.INSPECT_TIMEOUT_MS, windowSeconds: config.WINDOW_SECONDS, claimsDir };
}

/** The cluster drills' settings, or null when none is given (the single topology). */
function clusterSettings(config: ConsoleConfig): ClusterDrillSettings | null {
  const fronts = frontUrls(config);
  const { DRILL_CLUSTER_TOPOLOGY_FILE: topologyFile, DRILL_LOAD_BALANCER_STATS_URL: statsUrl, DRILL_OFFLINE_STORE_DIR: storeDir } = config;
  if (topologyFile === undefined && statsUrl === undefined && fronts.size === 0) return null;
  return { topologyFile: topologyFile ?? null, frontUrls: fronts, loadBalancerStatsUrl: statsUrl ?? null, offlineStoreDir: storeDir ?? null };
}
