import { z } from "zod";

/**
 * Settings the world takes from the environment, each also a flag (the flag wins): the same
 * variables the services read, so one environment can start the services and the world.
 */
export const WorldEnvSchema = z.object({
  RECOMMENDER_URL: z.string().url().optional(),
  FRAUD_URL: z.string().url().optional(),
  CLICK_WRITER_TOKEN: z.string().min(1).optional(),
  LABEL_WRITER_TOKEN: z.string().min(1).optional(),
  KAFKA_BROKERS: z.string().min(1).optional(),
  CLOCK_START: z.string().min(1).optional(),
  CLOCK_ORIGIN_MS: z.string().min(1).optional(),
  CLOCK_SPEED: z.string().min(1).optional(),
  MODEL_REGISTRY_DIR: z.string().min(1).optional(),
  WORLD_METRICS_PORT: z.string().min(1).optional(),
  OFFLINE_STORE_DIR: z.string().min(1).optional(),
});
export type WorldEnv = z.infer<typeof WorldEnvSchema>;

export function worldEnv(env: NodeJS.ProcessEnv = process.env): WorldEnv {
  const parsed = WorldEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`world: invalid environment: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  return parsed.data;
}
