export type OfflineStoreErrorCode =
  | "INVALID_INPUT" // an argument the store cannot use (bad topic name, time range, option)
  | "LOCKED" // another live writer holds the store root
  | "CLOSED"; // the writer was closed

export class OfflineStoreError extends Error {
  override readonly name = "OfflineStoreError";
  constructor(
    readonly code: OfflineStoreErrorCode,
    /** The offending field or resource, e.g. `records[3].topic` or the lock file path. */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export function invalidInput(field: string, message: string): OfflineStoreError {
  return new OfflineStoreError("INVALID_INPUT", field, message);
}
