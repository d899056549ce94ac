import { randomBytes } from "node:crypto";

/**
 * Broker settings for a single node that tests and the demo share. docker-compose.yml sets the
 * same values through KAFKA_* variables; infra/test/compose.test.ts checks they agree.
 */
export const KAFKA_BROKER_SETTINGS: Readonly<Record<string, string>> = {
  "num.partitions": "3",
  "auto.create.topics.enable": "true",
  // One node: internal topics cannot have more replicas than brokers.
  "offsets.topic.replication.factor": "1",
  // The default 50 partitions of __consumer_offsets take seconds to create on a busy 2-core
  // machine at the first consumer-group join; a single broker gains nothing from them.
  "offsets.topic.num.partitions": "3",
  "transaction.state.log.replication.factor": "1",
  "transaction.state.log.min.isr": "1",
  // The default 3 s wait before the first rebalance would slow every consumer-group test.
  "group.initial.rebalance.delay.ms": "0",
};

/**
 * What a three-node cluster changes (issue 19's topology): every topic, internal ones included,
 * on three brokers, and a write acknowledged by acks=all only once two replicas have it, so one
 * broker can die without losing an acknowledged event or refusing writes.
 */
export const KAFKA_CLUSTER_SETTINGS: Readonly<Record<string, string>> = {
  "default.replication.factor": "3",
  "min.insync.replicas": "2",
  "offsets.topic.replication.factor": "3",
  "transaction.state.log.replication.factor": "3",
  "transaction.state.log.min.isr": "2",
};

export interface KafkaNodeLayout {
  host: string;
  port: number;
  controllerPort: number;
  logDir: string;
  nodeId?: number;
  /** `controller.quorum.voters` of a cluster (`id@host:port,...`); default: this node alone. */
  voters?: string;
  /** Settings over KAFKA_BROKER_SETTINGS (a cluster's KAFKA_CLUSTER_SETTINGS). */
  overrides?: Readonly<Record<string, string>>;
}

function checkPort(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new RangeError(`${field}: expected a port in 1-65535, got ${value}`);
  }
}

export function renderServerProperties(layout: KafkaNodeLayout): string {
  checkPort(layout.port, "port");
  checkPort(layout.controllerPort, "controllerPort");
  if (layout.port === layout.controllerPort) {
    throw new RangeError(`controllerPort: must differ from port (${layout.port})`);
  }
  if (!layout.logDir) throw new RangeError("logDir: must not be empty");
  const nodeId = layout.nodeId ?? 1;
  const { host, port, controllerPort } = layout;
  const settings: Record<string, string> = {
    "process.roles": "broker,controller",
    "node.id": String(nodeId),
    "controller.quorum.voters": layout.voters ?? `${nodeId}@${host}:${controllerPort}`,
    "controller.listener.names": "CONTROLLER",
    listeners: `PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
    "advertised.listeners": `PLAINTEXT://${host}:${port}`,
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "log.dirs": layout.logDir,
    ...KAFKA_BROKER_SETTINGS,
    ...layout.overrides,
  };
  return renderProperties(settings);
}

/** log4j 1.x (reload4j) config: everything at INFO into one file, nothing on stdout. */
export function renderLog4jProperties(logFile: string): string {
  return renderProperties({
    "log4j.rootLogger": "INFO, file",
    "log4j.appender.file": "org.apache.log4j.FileAppender",
    "log4j.appender.file.File": logFile,
    "log4j.appender.file.Append": "true",
    "log4j.appender.file.layout": "org.apache.log4j.PatternLayout",
    "log4j.appender.file.layout.ConversionPattern": "[%d] %p %m (%c)%n",
    // The state-change and request loggers repeat every partition move; warnings are enough.
    "log4j.logger.state.change.logger": "WARN",
    "log4j.logger.kafka.request.logger": "WARN",
    "log4j.logger.org.apache.kafka.controller": "WARN",
  });
}

/** java.util.Properties escaping for the characters that can appear in paths and values here. */
function escapeValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/^\s/, (c) => `\\${c}`);
}

export function renderProperties(settings: Readonly<Record<string, string>>): string {
  return (
    Object.entries(settings)
      .map(([key, value]) => `${key}=${escapeValue(value)}`)
      .join("\n") + "\n"
  );
}

/** Parses the simple `key=value` lines renderProperties writes (no continuations). */
export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    if (!line.trim() || line.startsWith("#") || line.startsWith("!")) continue;
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    out[line.slice(0, eq).trim()] = line
      .slice(eq + 1)
      .replace(/\\(.)/g, (_m, c: string) => (c === "n" ? "\n" : c));
  }
  return out;
}

/**
 * A KRaft cluster id: 16 random bytes as URL-safe base64 without padding (22 characters). One that
 * starts with "-" would be read by StorageTool's argument parser as an option ("--cluster-id
 * expected one argument"), so those are drawn again.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

export interface JvmOptions {
  log4jFile: string;
  maxHeapMb?: number;
}

export function brokerJvmArgs(options: JvmOptions): string[] {
  const maxHeap = options.maxHeapMb ?? 512;
  return [
    `-Xms${Math.min(128, maxHeap)}m`,
    `-Xmx${maxHeap}m`,
    // The flags kafka-run-class.sh uses for the broker.
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
    `-Dlog4j.configuration=file:${options.log4jFile}`,
  ];
}

/** The variable the apache/kafka image turns into `key` (dots become underscores). */
export function kafkaEnvName(key: string): string {
  if (!/^[a-z0-9.]+$/.test(key)) throw new RangeError(`key: "${key}" has characters the image's env mapping cannot express`);
  return `KAFKA_${key.toUpperCase().replace(/\./g, "_")}`;
}
