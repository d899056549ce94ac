import net from "node:net";

export const FAULT_MODES = ["pass", "delay", "blackhole", "reset"] as const;
/**
 * - `pass`: bytes go through as they come.
 * - `delay`: every chunk, in both directions, is forwarded `delayMs` after it arrived (order kept):
 *   a slow network or an overloaded server, as the client sees it.
 * - `blackhole`: connections stay open and nothing is forwarded (held, then delivered when the
 *   fault ends): a stuck peer.
 * - `reset`: open connections are destroyed and new ones refused while it lasts.
 */
export type FaultMode = (typeof FAULT_MODES)[number];

export interface Fault {
  mode: FaultMode;
  /** `delay` only. */
  delayMs?: number;
}

export interface FaultProxyOptions {
  upstreamHost: string;
  upstreamPort: number;
  listenHost?: string;
  /** 0: any free port. */
  listenPort?: number;
}

export interface FaultProxyStats {
  fault: Fault;
  /** Connections open now and since start. */
  open: number;
  accepted: number;
  /** Bytes forwarded each way. */
  toUpstream: number;
  toClient: number;
  /** Connections destroyed or refused by a `reset`. */
  reset: number;
}

interface Pending {
  due: number;
  chunk: Buffer;
}

/** One direction of one connection: chunks leave in order, each no earlier than its due time. */
class Pipe {
  private readonly queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly to: net.Socket,
    private readonly proxy: FaultProxy,
    private readonly count: (bytes: number) => void,
  ) {}

  push(chunk: Buffer): void {
    const fault = this.proxy.fault;
    const delay = fault.mode === "delay" ? (fault.delayMs ?? 0) : 0;
    this.queue.push({ due: Date.now() + delay, chunk });
    this.flush();
  }

  /** Sends what is due; a black hole holds everything until the fault changes. */
  flush(): void {
    if (this.timer) return;
    if (this.proxy.fault.mode === "blackhole") return;
    const now = Date.now();
    while (this.queue.length > 0 && (this.queue[0] as Pending).due <= now) {
      const { chunk } = this.queue.shift() as Pending;
      if (this.to.destroyed) return;
      this.to.write(chunk);
      this.count(chunk.length);
    }
    const next = this.queue[0];
    if (next) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, next.due - now);
    }
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }
}

/**
 * A TCP proxy in front of one upstream (Redis, here) whose fault can be changed while clients stay
 * connected, so a drill can make the dependency slow, stuck or gone without touching the
 * dependency itself or the services' configuration.
 */
export class FaultProxy {
  fault: Fault = { mode: "pass" };
  private server: net.Server | null = null;
  private readonly connections = new Set<{ client: net.Socket; upstream: net.Socket; pipes: Pipe[] }>();
  private readonly counters = { accepted: 0, toUpstream: 0, toClient: 0, reset: 0 };

  constructor(private readonly options: FaultProxyOptions) {}

  async listen(): Promise<{ host: string; port: number }> {
    const server = net.createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.listenPort ?? 0, this.options.listenHost ?? "127.0.0.1", () => resolve());
    });
    const address = server.address() as net.AddressInfo;
    return { host: address.address, port: address.port };
  }

  private accept(client: net.Socket): void {
    if (this.fault.mode === "reset") {
      this.counters.reset++;
      client.destroy();
      return;
    }
    this.counters.accepted++;
    client.setNoDelay(true);
    const upstream = net.connect({ host: this.options.upstreamHost, port: this.options.upstreamPort });
    upstream.setNoDelay(true);
    const toUpstream = new Pipe(upstream, this, (n) => (this.counters.toUpstream += n));
    const toClient = new Pipe(client, this, (n) => (this.counters.toClient += n));
    const connection = { client, upstream, pipes: [toUpstream, toClient] };
    this.connections.add(connection);
    client.on("data", (chunk: Buffer) => toUpstream.push(chunk));
    upstream.on("data", (chunk: Buffer) => toClient.push(chunk));
    const close = () => {
      if (!this.connections.delete(connection)) return;
      toUpstream.clear();
      toClient.clear();
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on("close", close);
      socket.on("error", close);
    }
  }

  /** Changes the fault for every connection, open and new; held or delayed bytes follow the new one. */
  setFault(fault: Fault): void {
    if (!FAULT_MODES.includes(fault.mode)) throw new RangeError(`mode: one of ${FAULT_MODES.join(", ")}, got ${String(fault.mode)}`);
    if (fault.mode === "delay" && !(typeof fault.delayMs === "number" && fault.delayMs >= 0 && Number.isFinite(fault.delayMs))) throw new RangeError(`delayMs: a number >= 0 for a delay, got ${String(fault.delayMs)}`);
    this.fault = fault.mode === "delay" ? { mode: "delay", delayMs: fault.delayMs as number } : { mode: fault.mode };
    if (fault.mode === "reset") {
      for (const c of [...this.connections]) {
        this.counters.reset++;
        c.client.destroy();
        c.upstream.destroy();
      }
    }
    for (const c of this.connections) for (const pipe of c.pipes) pipe.flush();
  }

  stats(): FaultProxyStats {
    return { fault: { ...this.fault }, open: this.connections.size, ...this.counters };
  }

  async close(): Promise<void> {
    for (const c of [...this.connections]) {
      c.client.destroy();
      c.upstream.destroy();
    }
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
