import { z } from "zod";
import { IsoTimeSchema } from "../envelope";

export const DeadLetterReasonSchema = z.enum([
  "invalid_json",
  "invalid_envelope",
  "unknown_type",
  "unsupported_version",
  "invalid_payload",
]);
export type DeadLetterReason = z.infer<typeof DeadLetterReasonSchema>;

export const ValidationIssueSchema = z.object({ path: z.string(), message: z.string() });
export type ValidationIssue = z.infer<typeof ValidationIssueSchema>;

/**
 * What the consumer writes to the dead-letter topic for a message it could not read: why, and
 * enough of the original (topic, partition, offset, key, bytes) to inspect or replay it. Not an
 * event envelope, because the original may not have been one.
 */
export const DeadLetterRecordSchema = z.object({
  reason: DeadLetterReasonSchema,
  message: z.string(),
  issues: z.array(ValidationIssueSchema),
  source: z.object({
    topic: z.string().min(1),
    partition: z.number().int().nonnegative(),
    offset: z.string().regex(/^\d+$/),
    key: z.string().nullable(),
    timestamp: z.string(),
  }),
  consumerGroup: z.string().min(1),
  /** The original value, as UTF-8 text when it was valid UTF-8, else base64. */
  originalValue: z.string().nullable(),
  originalEncoding: z.enum(["utf8", "base64"]),
  failedAt: IsoTimeSchema,
});
export type DeadLetterRecord = z.infer<typeof DeadLetterRecordSchema>;
