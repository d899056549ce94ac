// Long-lived local Redis and Kafka without Docker, for scripts/services-up and scripts/services-down:
//   tsx packages/testkit/src/services-cli.ts up|down|status [--data DIR] [--topology single|cluster]
// single (default): one Redis on 6379 and one broker on 9092; cluster: a Redis Cluster (3 primaries
// + 3 replicas on 7001-7006) and a 3-node Kafka (19092-19094). `down` without --topology stops both.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "./paths";
import { clusterDown, clusterStatus, clusterUp, DEFAULT_CLUSTER_LAYOUT, DEFAULT_LAYOUT, servicesDown, servicesStatus, servicesUp } from "./services";

const log = (line: string) => process.stdout.write(`${line}\n`);
const USAGE = "usage: tsx packages/testkit/src/services-cli.ts up|down|status [--data DIR] [--topology single|cluster]\n";

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { data: { type: "string" }, topology: { type: "string" } } });
  const [command] = positionals;
  const dataDir = values.data ? resolve(values.data) : resolve(REPO_ROOT, ".data");
  const topology = values.topology;
  if (topology !== undefined && topology !== "single" && topology !== "cluster") {
    process.stderr.write(`services: --topology must be single or cluster, got "${topology}"\n${USAGE}`);
    return 2;
  }
  const layout = { ...DEFAULT_LAYOUT, dataDir };
  const cluster = { ...DEFAULT_CLUSTER_LAYOUT, dataDir };
  switch (command) {
    case "up":
      if (topology === "cluster") {
        const t = await clusterUp(cluster, log);
        log(`REDIS_CLUSTER_NODES=${t.redisClusterNodes} KAFKA_BROKERS=${t.kafkaBrokers}`);
        return 0;
      }
      await servicesUp(layout, log);
      log(`REDIS_URL=redis://${layout.host}:${layout.redisPort} KAFKA_BROKERS=${layout.host}:${layout.kafkaPort}`);
      return 0;
    case "down":
      if (topology !== "cluster") await servicesDown(layout, log);
      if (topology !== "single") await clusterDown(cluster, log);
      return 0;
    case "status": {
      let up = true;
      if (topology !== "cluster") {
        for (const s of servicesStatus(layout)) {
          log(`${s.name}: ${s.status}${s.status === "running" ? ` (pid ${s.pid})` : ""} ${s.address}`);
          up &&= s.status === "running";
        }
      }
      if (topology !== "single") {
        for (const n of clusterStatus(cluster)) {
          log(`${n.name}: ${n.pid === null ? "stopped" : `running (pid ${n.pid})`} ${n.address}`);
          up &&= n.pid !== null;
        }
      }
      return up ? 0 : 3;
    }
    default:
      process.stderr.write(USAGE);
      return 2;
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`services: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
