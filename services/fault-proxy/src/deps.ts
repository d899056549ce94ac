import { FaultProxy, type Fault } from "@mlsd/fault-proxy";
import { httpDeps, type HttpDeps, type ServiceContext } from "@mlsd/service-kit";
import { Gauge } from "prom-client";
import type { FaultProxyConfig } from "./config";

export interface FaultProxyDeps extends HttpDeps {
  proxy: FaultProxy;
  /** The proxy's listening address (the port is chosen when PROXY_PORT is 0). */
  address(): { host: string; port: number } | null;
  /** Sets a fault that lifts itself after `seconds`; returns when it will. */
  setFault(fault: Fault, seconds: number): { until: string };
  clearFault(): void;
  until(): string | null;
  maxFaultSeconds: number;
}

export async function createDeps(ctx: ServiceContext<FaultProxyConfig>): Promise<FaultProxyDeps> {
  const { config, metrics } = ctx;
  const [host, port] = config.UPSTREAM.split(":") as [string, string];
  const proxy = new FaultProxy({ upstreamHost: host, upstreamPort: Number(port), listenHost: config.PROXY_HOST, listenPort: config.PROXY_PORT });
  const address = await proxy.listen();
  ctx.closers.add("fault proxy", () => proxy.close());
  ctx.logger.info({ listen: `${address.host}:${address.port}`, upstream: config.UPSTREAM }, "fault proxy listening");
  new Gauge({
    name: "fault_proxy_fault",
    help: "1 for the fault in force (by mode), with its delay in ms as the value of mode=delay",
    labelNames: ["mode"] as const,
    registers: [metrics.registry],
    collect() {
      this.reset();
      const f = proxy.fault;
      this.set({ mode: f.mode }, f.mode === "delay" ? (f.delayMs ?? 0) : 1);
    },
  });
  for (const [name, help, read] of [
    ["fault_proxy_connections_open", "Connections open through the proxy", () => proxy.stats().open],
    ["fault_proxy_bytes_to_upstream", "Bytes forwarded to the upstream since start", () => proxy.stats().toUpstream],
    ["fault_proxy_bytes_to_client", "Bytes forwarded to the clients since start", () => proxy.stats().toClient],
  ] as const) {
    new Gauge({
      name,
      help,
      registers: [metrics.registry],
      collect() {
        this.set(read());
      },
    });
  }
  let timer: NodeJS.Timeout | null = null;
  let until: string | null = null;
  const clearFault = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    until = null;
    proxy.setFault({ mode: "pass" });
  };
  ctx.closers.add("fault timer", () => clearFault());
  return {
    ...httpDeps(ctx),
    proxy,
    address: () => address,
    maxFaultSeconds: config.MAX_FAULT_SECONDS,
    setFault: (fault, seconds) => {
      proxy.setFault(fault);
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        ctx.logger.info({ fault }, "fault lifted (its time was up)");
        clearFault();
      }, seconds * 1000);
      timer.unref();
      until = new Date(Date.now() + seconds * 1000).toISOString();
      ctx.logger.warn({ fault, seconds }, "fault set");
      return { until };
    },
    clearFault,
    until: () => until,
  };
}
