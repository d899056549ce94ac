import { BaseConfigSchema } from "@mlsd/service-kit";
import { z } from "zod";

export const FaultProxyConfigSchema = BaseConfigSchema.extend({
  /** The admin HTTP API. */
  PORT: z.coerce.number().int().min(0).max(65535).default(8091),
  /** Where clients connect instead of the upstream. */
  PROXY_PORT: z.coerce.number().int().min(0).max(65535).default(6380),
  PROXY_HOST: z.string().min(1).default("127.0.0.1"),
  /** host:port of the dependency behind the proxy. */
  UPSTREAM: z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, "host:port"),
  /** The longest a fault may be set for: every fault lifts itself, even if whoever set it is gone. */
  MAX_FAULT_SECONDS: z.coerce.number().positive().max(3600).default(600),
});
export type FaultProxyConfig = z.infer<typeof FaultProxyConfigSchema>;
