import type { ZodError } from "zod";

/** The closed set of error codes a service may answer with, and their HTTP status. */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_REQUESTS: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `amount` or `context.device`. */
  field: string;
  message: string;
}

export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "AppError";
    this.status = ERROR_STATUS[code];
  }
}

export function zodIssues(error: ZodError): FieldIssue[] {
  return error.issues.flatMap((issue): FieldIssue[] => {
    // An unknown key in a strict object is reported on the parent: name each key instead.
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({
        field: [...issue.path, key].join("."),
        message: "unknown field",
      }));
    }
    return [{ field: issue.path.length ? issue.path.join(".") : "(body)", message: issue.message }];
  });
}

export function validationError(error: ZodError, what = "request body"): AppError {
  const issues = zodIssues(error);
  const fields = [...new Set(issues.map((i) => i.field))];
  return new AppError("VALIDATION_FAILED", `invalid ${what}: ${fields.join(", ")}`, issues);
}
