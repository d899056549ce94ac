export type GbdtInputErrorCode =
  | "empty_data"
  | "ragged_rows"
  | "bad_label"
  | "bad_value"
  | "length_mismatch"
  | "bad_groups"
  | "bad_param"
  | "feature_mismatch";

/** Bad training or prediction input; `field` names the offending argument or parameter. */
export class GbdtInputError extends Error {
  override readonly name = "GbdtInputError";
  constructor(
    readonly code: GbdtInputErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export type GbdtModelFormatErrorCode = "bad_format" | "unsupported_version";

/** A model file that is malformed, or written by a newer format version than this code reads. */
export class GbdtModelFormatError extends Error {
  override readonly name = "GbdtModelFormatError";
  constructor(
    readonly code: GbdtModelFormatErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}
