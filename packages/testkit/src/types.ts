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
  /**
   * Stop the server; the data directory is kept so start() can resume. A no-op for a shared
   * instance from REDIS_URL, which belongs to the runner.
   */
  stop(): Promise<void>;
  /** Instances the testkit started (dedicated ones in particular): start again on the same port after stop(). */
  start(): Promise<void>;
  /**
   * Freezes the server (SIGSTOP, or `docker pause`): connections stay open and nothing answers,
   * the failure a dead TCP peer or a stuck host looks like. `thaw()` resumes it.
   */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
}

export interface KafkaHandle {
  brokers: string[]; // ["127.0.0.1:PORT"]
  source: InfraSource;
  /** Stop the broker (a no-op for a shared instance from KAFKA_BROKERS). */
  stop(): Promise<void>;
  /** Instances the testkit started: start again on the same port with the same log dirs after stop(). */
  start(): Promise<void>;
  /** The broker's process id while a local broker the testkit started runs (drills freeze it); null otherwise. */
  readonly pid: number | null;
}
