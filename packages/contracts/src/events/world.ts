import { z } from "zod";
import { IsoTimeSchema } from "../envelope";
import { EntityIdSchema } from "./common";
import { FraudDecisionSchema } from "./fraud";

/**
 * Ground truth that only a simulated world knows (jobs/world), published beside what the system
 * logs so online evaluation and claims can be scored against it: never an input of a model or
 * a feature. `drift` names the world drifts in force when the event happened.
 */
const DriftsSchema = z.array(z.string().min(1));
const Probability = z.number().min(0).max(1);

export const WorldRecsOutcomeItemSchema = z.object({
  itemId: EntityIdSchema,
  position: z.number().int().nonnegative(),
  /** P(click | examined) for this user and item: the world's true relevance; null for an item the world does not know. */
  relevance: Probability.nullable(),
  /** P(examined) of this slot under the world's click model, given what happened above it. */
  examination: Probability,
  examined: z.boolean(),
  clicked: z.boolean(),
});
export type WorldRecsOutcomeItem = z.infer<typeof WorldRecsOutcomeItemSchema>;

/** What a simulated user did with one recommendation answer. */
export const WorldRecsOutcomePayloadSchema = z.object({
  /** The answer's requestId: joins to recs.impression / recs.served / recs.click. */
  requestId: EntityIdSchema,
  userId: EntityIdSchema,
  /** As the answer named them (empty only if it named none). */
  modelVersions: z.record(z.string().min(1), z.string().min(1)),
  fallback: z.string().min(1).nullable(),
  items: z.array(WorldRecsOutcomeItemSchema),
  /**
   * DCG (gain = true relevance, discount 1 / log2(position + 2)) of the best possible list of the
   * same length from the released catalogue: NDCG against the truth is the served DCG over this.
   * Null when the catalogue is too large to rank exhaustively per request.
   */
  idealDcg: z.number().nonnegative().nullable(),
  drift: DriftsSchema,
});
export type WorldRecsOutcomePayload = z.infer<typeof WorldRecsOutcomePayloadSchema>;

export const WorldFraudScenarioSchema = z.enum(["none", "amount", "terminal", "customer", "burst", "card-testing"]);
export type WorldFraudScenario = z.infer<typeof WorldFraudScenarioSchema>;

/** A simulated transaction, its truth and what the fraud service decided. */
export const WorldFraudOutcomePayloadSchema = z.object({
  transactionId: EntityIdSchema,
  customerId: EntityIdSchema,
  terminalId: EntityIdSchema,
  amount: z.number().finite().nonnegative(),
  time: IsoTimeSchema,
  fraud: z.boolean(),
  scenario: WorldFraudScenarioSchema,
  decision: FraudDecisionSchema,
  decidedBy: z.enum(["rules", "model", "fallback"]),
  score: Probability.nullable(),
  modelVersion: z.string().min(1),
  degraded: z.boolean(),
  /** When the world reveals the label (a chargeback, or the window closing on a legitimate one); null if it never will. */
  labelAt: IsoTimeSchema.nullable(),
  drift: DriftsSchema,
});
export type WorldFraudOutcomePayload = z.infer<typeof WorldFraudOutcomePayloadSchema>;
