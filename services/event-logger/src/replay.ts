import { OfflineStoreWriter } from "@mlsd/offline-store";
import { createLogger, loadConfigOrExit } from "@mlsd/service-kit";
import { ReplayConfigSchema } from "./config";
import { createKafka } from "@mlsd/service-kit/kafka";
import { parseReplayArgs, ReplayArgsError } from "./replay-args";
import { replayRange } from "./replay-range";

// Re-reads a time range of one topic from Kafka into the offline store. It takes the store's
// writer lock: stop the event logger first (or point OFFLINE_STORE_DIR elsewhere).
let args;
try {
  args = parseReplayArgs(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof ReplayArgsError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}
const config = loadConfigOrExit("event-logger replay", ReplayConfigSchema);
const logger = createLogger({ service: "event-logger-replay", level: config.LOG_LEVEL });
const writer = await OfflineStoreWriter.open({
  root: config.OFFLINE_STORE_DIR,
  maxCachedPartitions: config.STORE_CACHED_PARTITIONS,
  maxPartBytes: config.STORE_MAX_PART_BYTES,
});
try {
  const result = await replayRange({ kafka: createKafka(config.KAFKA_CLIENT_ID, config.KAFKA_BROKERS), writer, logger, ...args });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.complete ? 0 : 1;
} finally {
  await writer.close();
}
