import { fileURLToPath } from "node:url";

/** Files of the repository the testkit shares with docker-compose.yml and scripts/. */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const REDIS_CONF = fileURLToPath(new URL("../../../infra/redis/redis.conf", import.meta.url));
export const KAFKA_LIBS_SCRIPT = fileURLToPath(new URL("../../../scripts/lib/kafka-libs.sh", import.meta.url));
