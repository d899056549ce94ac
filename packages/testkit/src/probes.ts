import { connect } from "node:net";
import { Kafka, logLevel } from "kafkajs";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One PING over a raw socket; true on +PONG (a loading server answers -LOADING: not ready). */
export function redisPing(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let reply = "";
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk: string) => {
      reply += chunk;
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
    socket.on("error", () => done(false));
    socket.on("close", () => done(false));
  });
}

/** One metadata request through a kafkajs admin client; true when the cluster lists `minBrokers` brokers and a controller. */
export async function kafkaMetadataAnswers(brokers: string[], timeoutMs = 2000, minBrokers = 1): Promise<boolean> {
  const kafka = new Kafka({
    clientId: "mlsd-testkit-probe",
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length >= minBrokers && cluster.controller !== null;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

export interface WaitOptions {
  what: string;
  timeoutMs: number;
  /** Called between attempts; a message means the server died and waiting is pointless. */
  failure?: () => string | undefined;
  intervalMs?: number;
}

export async function waitUntil(probe: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await probe()) return;
    const failure = options.failure?.();
    if (failure) throw new Error(`${options.what} failed to start: ${failure}`);
    if (Date.now() > deadline) throw new Error(`${options.what} not ready after ${options.timeoutMs} ms`);
    await sleep(options.intervalMs ?? 200);
  }
}

/**
 * Polls `probe` until it returns a value (anything but undefined or false) and returns it; throws
 * naming `what` after `timeoutMs`. What the integration tests wait on: an event stored, a group
 * rebalanced, a service ready.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(options.intervalMs ?? 100);
  }
}
