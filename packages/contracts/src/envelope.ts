import { z } from "zod";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
// Crockford base32, 26 characters; the first one is at most 7 so the 128-bit value does not overflow.
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

export const EventIdSchema = z
  .string()
  .refine((id) => UUID.test(id) || ULID.test(id), { message: "must be a UUID or a ULID" });

export const IsoTimeSchema = z.string().datetime({ offset: true });

/**
 * The envelope every event travels in. `key` is the partition key (the entity whose events must stay
 * in order); `payload` is checked against the schema of `type` at `schemaVersion`.
 */
export const EnvelopeSchema = z.object({
  eventId: EventIdSchema,
  type: z.string().min(1),
  schemaVersion: z.number().int().positive(),
  eventTime: IsoTimeSchema,
  producer: z.string().min(1),
  key: z.string().min(1),
  payload: z.unknown(),
});

export type RawEnvelope = z.infer<typeof EnvelopeSchema>;
