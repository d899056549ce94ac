export type DriftErrorCode =
  | "INVALID_INPUT" // an argument or event field the library cannot use
  | "INVALID_REFERENCE" // a serialised reference that fails validation on load
  | "UNSUPPORTED_VERSION"; // a reference written by a format version this code does not read

export class DriftError extends Error {
  override readonly name = "DriftError";
  constructor(
    readonly code: DriftErrorCode,
    /** Path of the offending field, e.g. `features[2].binEdges[4]` or `options.bins`. */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export function invalidInput(field: string, message: string): DriftError {
  return new DriftError("INVALID_INPUT", field, message);
}
