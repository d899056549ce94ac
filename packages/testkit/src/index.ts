// Public API of @mlsd/testkit. Implementation in progress (issue 2); the signatures below are the
// contract other packages code against.

/** Where a real component came from: an explicit URL, a testcontainer, or a local process. */
export type InfraSource = "env" | "container" | "local";

export interface StartOptions {
  /**
   * Ignore REDIS_URL / KAFKA_BROKERS and start a private instance that the test owns, so it can be
   * stopped and started again (failure tests). Without it, a shared instance from the environment
   * is reused when one is given.
   */
  dedicated?: boolean;
}

export interface RedisHandle {
  url: string; // redis://127.0.0.1:PORT
  host: string;
  port: number;
  source: InfraSource;
  /** Stop the server; for dedicated instances the data directory is kept so start() can resume. */
  stop(): Promise<void>;
  /** Dedicated instances only: start again on the same port after stop(). */
  start(): Promise<void>;
}

export interface KafkaHandle {
  brokers: string[]; // ["127.0.0.1:PORT"]
  source: InfraSource;
  stop(): Promise<void>;
  /** Dedicated instances only: start again on the same port with the same log dirs after stop(). */
  start(): Promise<void>;
}

export declare function startRedis(options?: StartOptions): Promise<RedisHandle>;
export declare function startKafka(options?: StartOptions): Promise<KafkaHandle>;
