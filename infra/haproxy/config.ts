import { fileURLToPath } from "node:url";
import { haproxyConfig } from "@mlsd/testkit";

/**
 * The compose cluster profile's load balancer: @mlsd/testkit's haproxyConfig(), the configuration
 * the local path runs (startLoadBalancer), with the replicas named by their compose services, every
 * frontend bound on 0.0.0.0 inside the container, and Docker's embedded DNS re-resolving the
 * replicas' names, since a restarted container comes back on a new address.
 */

export const HAPROXY_CONFIG_FILE = fileURLToPath(new URL("./haproxy.cfg", import.meta.url));
/** Docker's embedded DNS server, inside every container on a compose network. */
export const DOCKER_DNS = "127.0.0.11:53";
export const STATS_PORT = 8404;

export interface ReplicatedService {
  /** The compose services that run the replicas (the first is the default stack's own). */
  replicas: string[];
  /** The port each replica listens on in its container, and the balancer's front port for it. */
  port: number;
}

export const REPLICATED: Readonly<Record<string, ReplicatedService>> = {
  fraud: { replicas: ["fraud", "fraud-2"], port: 8081 },
  recommender: { replicas: ["recommender", "recommender-2"], port: 8080 },
};

export function composeHaproxyConfig(): string {
  const services = Object.entries(REPLICATED).map(([name, s]) => ({ name, port: s.port, replicas: s.replicas.map((r) => `${r}:${s.port}`) }));
  const header = "# Generated from @mlsd/testkit's haproxyConfig() by `npm run haproxy-config -w @mlsd/infra` (infra/haproxy/config.ts); do not edit.\n";
  return header + haproxyConfig({ services, statsPort: STATS_PORT, bindAddress: "0.0.0.0", resolver: DOCKER_DNS });
}
