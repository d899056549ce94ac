import { GenericContainer, getContainerRuntimeClient, Wait, type StartedTestContainer } from "testcontainers";
import { KAFKA_BROKER_SETTINGS, kafkaEnvName } from "./kafka-config";
import { REDIS_CONF } from "./paths";
import { kafkaMetadataAnswers, redisPing, waitUntil } from "./probes";

/** Same images as docker-compose.yml. */
export const REDIS_IMAGE = "redis:7.4";
export const KAFKA_IMAGE = "apache/kafka:3.9.1";

export interface ContainerServer {
  host: string;
  port: number;
  container: StartedTestContainer;
  /** docker stop, keeping the container (and its data) for resume(). */
  pause(): Promise<void>;
  /** docker start on the same host port, then wait until it answers again. */
  resume(): Promise<void>;
  /** docker pause (the processes are frozen, connections stay open), and unpause. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
}

async function runtimeHost(): Promise<string> {
  const client = await getContainerRuntimeClient();
  return client.info.containerRuntime.host;
}

function controls(container: StartedTestContainer, ready: () => Promise<void>) {
  return {
    async pause() {
      const client = await getContainerRuntimeClient();
      await client.container.stop(client.container.getById(container.getId()), { timeout: 10 });
    },
    async resume() {
      const client = await getContainerRuntimeClient();
      await client.container.start(client.container.getById(container.getId()));
      await ready();
    },
    async freeze() {
      await container.exec(["true"]); // fails fast if the container is gone
      const client = await getContainerRuntimeClient();
      await client.container.getById(container.getId()).pause();
    },
    async thaw() {
      const client = await getContainerRuntimeClient();
      await client.container.getById(container.getId()).unpause();
    },
  };
}

/**
 * The host port is chosen by us, not by Docker, so a stopped and restarted container answers on
 * the same URL (Docker may hand out a new random port on restart).
 */
export async function startRedisContainer(port: number): Promise<ContainerServer> {
  const host = await runtimeHost();
  const container = await new GenericContainer(REDIS_IMAGE)
    .withExposedPorts({ container: 6379, host: port })
    .withCopyFilesToContainer([{ source: REDIS_CONF, target: "/usr/local/etc/redis/redis.conf" }])
    .withCommand(["redis-server", "/usr/local/etc/redis/redis.conf", "--protected-mode", "no"])
    .withWaitStrategy(Wait.forLogMessage("Ready to accept connections"))
    .start();
  const ready = () => waitUntil(() => redisPing(host, port), { what: "redis container", timeoutMs: 60_000 });
  await ready();
  return { host, port, container, ...controls(container, ready) };
}

/**
 * apache/kafka (the image docker-compose.yml uses) configured through KAFKA_* variables, with the
 * advertised listener on the host port we chose. @testcontainers/kafka's KafkaContainer is not
 * used: it drives Confluent's images through their /etc/confluent start scripts.
 */
export async function startKafkaContainer(port: number): Promise<ContainerServer> {
  const host = await runtimeHost();
  const settings = Object.fromEntries(Object.entries(KAFKA_BROKER_SETTINGS).map(([k, v]) => [kafkaEnvName(k), v]));
  const container = await new GenericContainer(KAFKA_IMAGE)
    .withExposedPorts({ container: 9092, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: "1",
      KAFKA_PROCESS_ROLES: "broker,controller",
      KAFKA_CONTROLLER_QUORUM_VOTERS: "1@localhost:9093",
      KAFKA_CONTROLLER_LISTENER_NAMES: "CONTROLLER",
      KAFKA_LISTENERS: "INTERNAL://:19092,EXTERNAL://:9092,CONTROLLER://:9093",
      KAFKA_ADVERTISED_LISTENERS: `INTERNAL://localhost:19092,EXTERNAL://${host}:${port}`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
      KAFKA_INTER_BROKER_LISTENER_NAME: "INTERNAL",
      KAFKA_LOG_DIRS: "/var/lib/kafka/data",
      KAFKA_HEAP_OPTS: "-Xms128m -Xmx512m",
      ...settings,
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(180_000)
    .start();
  const brokers = [`${host}:${port}`];
  const ready = () => waitUntil(() => kafkaMetadataAnswers(brokers), { what: "kafka container", timeoutMs: 120_000 });
  await ready();
  return { host, port, container, ...controls(container, ready) };
}
