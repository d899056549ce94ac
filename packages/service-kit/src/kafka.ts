import { createRecordSender, DEFAULT_EVENTS_CLIENT, ensureTopics, EventProducer, isEventsClient, startConsumer, type ConsumedEvent, type EventPublisher, type EventsClient, type PartitionLag, type RunConsumerOptions, type StartingConsumer } from "@mlsd/events";
import type { AnyEvent } from "@mlsd/contracts";
import { Kafka, logLevel } from "kafkajs";
import type { ServiceContext } from "./service";

/**
 * The one Kafka client policy: kafkajs' own logging off (our logger reports what matters), and
 * retries with a backoff capped at 5 s, so a broker that comes back is found again without a restart.
 */
export function createKafka(clientId: string, brokers: readonly string[]): Kafka {
  const kafka = new Kafka({ clientId, brokers: [...brokers], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5_000 } });
  connections.set(kafka, { clientId, brokers: [...brokers] });
  return kafka;
}

/** What createKafka was given, so an event producer on the other client reaches the same brokers. */
const connections = new WeakMap<Kafka, { clientId: string; brokers: string[] }>();

/** The client a service's config chose (EVENTS_CLIENT in `kafkaConfig`), else the default. */
function configuredClient(config: object): EventsClient {
  const chosen = (config as { EVENTS_CLIENT?: unknown }).EVENTS_CLIENT;
  return typeof chosen === "string" && isEventsClient(chosen) ? chosen : DEFAULT_EVENTS_CLIENT;
}

export interface PublisherOptions {
  kafka: Kafka;
  journalDir: string;
  /** Metric names become `<metricsPrefix>_events_*` (default: the service name). */
  metricsPrefix?: string;
  /** Topics to create if missing, in the background (default: every topic of the catalogue). */
  topics?: readonly string[];
  /** How long shutdown may spend flushing to Kafka before the rest stays in the journal (default 3 s). */
  flushTimeoutMs?: number;
  /** The client events are sent with (default: the service config's EVENTS_CLIENT). */
  client?: EventsClient;
}

/**
 * The event producer of a service: `publish()` never blocks a request, and while Kafka is away
 * events wait in the fsynced journal. Start-up does not wait for Kafka: the journal is local, and
 * topics are ensured in the background. Shutdown flushes for at most `flushTimeoutMs`; what is
 * left stays in the journal for the next start, so a down Kafka cannot eat the whole shutdown budget.
 */
export async function startEventPublisher(ctx: Pick<ServiceContext, "name" | "config" | "metrics" | "closers" | "logger" | "readiness">, options: PublisherOptions): Promise<EventProducer> {
  const flushTimeoutMs = options.flushTimeoutMs ?? 3_000;
  const client = options.client ?? configuredClient(ctx.config);
  const connection = connections.get(options.kafka);
  if (client === "platformatic" && connection === undefined) throw new Error("startEventPublisher: the platformatic client needs a Kafka made by createKafka (its brokers)");
  const producer = new EventProducer({
    sender: createRecordSender(client, { kafka: options.kafka, clientId: connection?.clientId ?? ctx.name, brokers: connection?.brokers ?? [] }),
    journalDir: options.journalDir,
    registry: ctx.metrics.registry,
    metricsPrefix: options.metricsPrefix ?? ctx.name.replace(/[^a-zA-Z0-9_]/g, "_"),
    logger: ctx.logger,
    flushTimeoutMs,
  });
  await producer.start();
  ctx.logger.info({ client }, "event producer started");
  ctx.closers.add("event producer (flush)", async () => {
    const result = await producer.close(flushTimeoutMs);
    ctx.logger.info({ ...result }, "event producer closed");
  });
  ctx.readiness.set("kafka-producer", true);
  void ensureTopics(options.kafka, options.topics ? { topics: options.topics, timeoutMs: 30_000 } : { timeoutMs: 30_000 }).catch((error: Error) => {
    // Not fatal: events wait in the journal until Kafka (and its topics) are there.
    ctx.logger.warn({ err: error.message }, "could not ensure Kafka topics; events wait in the journal");
  });
  return producer;
}

/**
 * A publisher for a service that publishes only sometimes (a ranker logs shadow predictions only
 * while a shadow challenger runs): Kafka and the journal are opened on the first event, so a
 * service that never publishes never connects. Events published while it opens wait in memory
 * (at most `maxWaiting`; past it they are dropped and the drop is logged).
 */
export function startEventPublisherOnDemand(ctx: Pick<ServiceContext, "name" | "config" | "metrics" | "closers" | "logger" | "readiness">, options: PublisherOptions & { maxWaiting?: number }): EventPublisher {
  const maxWaiting = options.maxWaiting ?? 10_000;
  let producer: EventProducer | null = null;
  let opening: Promise<void> | null = null;
  let waiting: AnyEvent[] = [];
  let dropped = 0;
  const open = () => {
    opening = startEventPublisher(ctx, options).then(
      (started) => {
        producer = started;
        for (const event of waiting) started.publish(event);
        waiting = [];
      },
      (error: Error) => {
        ctx.logger.error({ err: error.message, dropped: waiting.length }, "could not open the event journal; events dropped");
        waiting = [];
        opening = null;
      },
    );
  };
  return {
    publish(event) {
      if (producer) return producer.publish(event);
      if (waiting.length >= maxWaiting) {
        if (dropped++ % 1_000 === 0) ctx.logger.warn({ dropped }, "events dropped while the publisher opens");
        return;
      }
      waiting.push(event);
      if (!opening) open();
    },
  };
}

export interface BackgroundConsumerOptions extends Omit<RunConsumerOptions, "registry" | "logger"> {
  /** Readiness check name (default `consumer:<groupId>`). */
  check?: string;
  /** Whether the service is unready until the consumer has joined (default false: it answers requests meanwhile). */
  requiredForReadiness?: boolean;
  /** Create missing topics before joining (default false). */
  ensureTopics?: boolean;
}

export interface BackgroundConsumer {
  /** Whether the consumer has joined its group and is consuming. */
  running(): boolean;
  lag(): Promise<PartitionLag[]>;
  /** Stops joining (if still trying) or consuming: the batch in progress finishes and commits. */
  stop(): Promise<void>;
}

/**
 * Joins a consumer group in the background: start-up never waits on Kafka (a restarted service
 * answers at once even while the group still holds its dead predecessor's membership, or while
 * Kafka is down). Joining is retried with backoff until it succeeds or the service stops.
 * Readiness says whether it has joined; `requiredForReadiness` makes that block readiness, for
 * services whose only job is consuming.
 */
export function startBackgroundConsumer(ctx: Pick<ServiceContext, "metrics" | "closers" | "logger" | "readiness">, options: BackgroundConsumerOptions): BackgroundConsumer {
  const check = options.check ?? `consumer:${options.groupId}`;
  const mark = (joined: boolean, detail?: string) => {
    if (options.requiredForReadiness) ctx.readiness.set(check, joined, detail);
    else ctx.readiness.set(check, true, joined ? undefined : `not joined yet (${detail ?? "joining"}); not required to serve`);
  };
  mark(false, "joining");
  let attempt: StartingConsumer | null = null;
  let joined = false;
  let stopped = false;
  let wake: (() => void) | null = null;
  const { check: _check, requiredForReadiness: _required, ensureTopics: ensure, ...runOptions } = options;

  const joining = (async () => {
    let delay = 500;
    while (!stopped) {
      try {
        if (ensure) await ensureTopics(options.kafka, { topics: options.topics });
        if (stopped) return;
        // A 10 s session (kafkajs: 30 s): a replica that dies is dropped from its group, and its
        // partitions handed to the others, within 10 s.
        attempt = startConsumer({ ...runOptions, consumerConfig: { sessionTimeout: 10_000, heartbeatInterval: 3_000, ...runOptions.consumerConfig }, registry: ctx.metrics.registry, logger: ctx.logger });
        await attempt.joined;
        joined = true;
        mark(true);
        ctx.logger.info({ group: options.groupId, topics: options.topics }, "consumer joined");
        return;
      } catch (error) {
        const failed = attempt;
        attempt = null;
        await failed?.stop().catch(() => undefined);
        if (stopped) return;
        mark(false, (error as Error).message);
        ctx.logger.warn({ group: options.groupId, err: (error as Error).message, retryInMs: delay }, "consumer could not join; retrying");
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, delay).unref();
        });
        wake = null;
        delay = Math.min(delay * 2, 10_000);
      }
    }
  })();

  const stop = async (): Promise<void> => {
    stopped = true;
    (wake as (() => void) | null)?.();
    // Stopping a consumer disconnects it. A join still retrying its connection (Kafka down) is
    // abandoned rather than awaited: kafkajs' own retries would outlast the shutdown budget.
    await (attempt as StartingConsumer | null)?.stop();
    await Promise.race([joining, new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
    joined = false;
    mark(false, "stopped");
  };
  ctx.closers.add(check, stop);
  return {
    running: () => joined && !stopped,
    lag: () => (attempt && joined ? attempt.lag() : Promise.resolve([])),
    stop,
  };
}

export type { ConsumedEvent };
