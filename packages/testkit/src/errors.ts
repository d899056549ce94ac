export type TestkitErrorCode =
  | "BAD_ENV" // an environment variable holds a value we cannot use
  | "MISSING_DEPENDENCY" // redis-server, java, the Kafka jars or a Docker engine is not there
  | "START_FAILED" // a server process or container did not become ready
  | "NOT_OWNED"; // start()/stop() on an instance the testkit did not start

export class TestkitError extends Error {
  override readonly name = "TestkitError";
  constructor(
    readonly code: TestkitErrorCode,
    message: string,
    /** The environment variable or option the problem is about, when there is one. */
    readonly field?: string,
  ) {
    super(message);
  }
}
