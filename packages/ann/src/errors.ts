/**
 * Closed set of failure codes so callers (the retrieval service's loader, the trainer's export step)
 * can branch on `code` instead of parsing messages.
 */
export type AnnErrorCode =
  | "invalid_input"
  | "dimension_mismatch"
  | "model_version_mismatch"
  | "duplicate_id"
  | "unknown_id"
  | "corrupt_index"
  | "busy";

export class AnnError extends Error {
  override readonly name = "AnnError";

  constructor(
    readonly code: AnnErrorCode,
    /** The argument or manifest field at fault. */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}
