// Long-lived local Redis (6379) and Kafka (9092) without Docker, for scripts/services-up and
// scripts/services-down:  tsx packages/testkit/src/services-cli.ts up|down|status [--data DIR]
import { resolve } from "node:path";
import { REPO_ROOT } from "./paths";
import { DEFAULT_LAYOUT, servicesDown, servicesStatus, servicesUp, type ServicesLayout } from "./services";

const log = (line: string) => process.stdout.write(`${line}\n`);

function layoutFrom(argv: string[]): ServicesLayout {
  const at = argv.indexOf("--data");
  const dataDir = at >= 0 && argv[at + 1] ? resolve(argv[at + 1] as string) : resolve(REPO_ROOT, ".data");
  return { ...DEFAULT_LAYOUT, dataDir };
}

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  const layout = layoutFrom(rest);
  switch (command) {
    case "up":
      await servicesUp(layout, log);
      log(`REDIS_URL=redis://${layout.host}:${layout.redisPort} KAFKA_BROKERS=${layout.host}:${layout.kafkaPort}`);
      return 0;
    case "down":
      await servicesDown(layout, log);
      return 0;
    case "status": {
      const states = servicesStatus(layout);
      for (const s of states) log(`${s.name}: ${s.status}${s.status === "running" ? ` (pid ${s.pid})` : ""} ${s.address}`);
      return states.every((s) => s.status === "running") ? 0 : 3;
    }
    default:
      process.stderr.write("usage: tsx packages/testkit/src/services-cli.ts up|down|status [--data DIR]\n");
      return 2;
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`services: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
