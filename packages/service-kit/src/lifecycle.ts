import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import type { ServiceApp } from "./app";
import type { Logger } from "./logger";
import type { Readiness } from "./readiness";

export type Closer = { name: string; close: () => Promise<void> | void };

/**
 * Closers registered as dependencies come up (Redis, then Kafka, then models...) and run in
 * reverse on shutdown, so nothing is closed while something started after it still uses it.
 */
export class Closers {
  private readonly items: Closer[] = [];

  add(name: string, close: () => Promise<void> | void): void {
    this.items.push({ name, close });
  }

  async closeAll(logger: Logger): Promise<void> {
    for (const { name, close } of [...this.items].reverse()) {
      const t0 = performance.now();
      try {
        await close();
        logger.info({ closer: name, ms: Math.round(performance.now() - t0) }, "closed");
      } catch (error) {
        logger.error({ closer: name, err: error }, "closer failed");
      }
    }
    this.items.length = 0;
  }
}

export interface RunningService {
  server: Server;
  port: number;
  /** Starts the shutdown sequence (what SIGTERM does); resolves with the exit code. */
  shutdown(reason: string): Promise<number>;
}

/** Bounds on connections and on how long a client may take to send a request. */
export interface ServerLimits {
  /** Open connections at most; further ones are closed at once (node's `server.maxConnections`). */
  maxConnections?: number;
  /** A client must send the request headers within this long (slow-loris guard). */
  headersTimeoutMs?: number;
  /** ... and the whole request within this long. */
  requestTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs?: number;
}

export interface RunOptions extends ServerLimits {
  app: ServiceApp;
  port: number;
  host?: string;
  logger: Logger;
  readiness: Readiness;
  closers: Closers;
  /** After this long the shutdown gives up on draining and exits non-zero. */
  shutdownTimeoutMs?: number;
  /** Runs before HTTP draining: stop consuming from Kafka, stop accepting work from queues. */
  beforeDrain?: () => Promise<void> | void;
  /** Exit the process at the end of shutdown (true for main.ts; tests pass false). */
  exitProcess?: boolean;
  /** Install SIGINT/SIGTERM handlers (true for main.ts). */
  handleSignals?: boolean;
}

/**
 * Listens, marks the service ready, and on SIGINT/SIGTERM: fails readiness, stops accepting
 * connections, lets in-flight requests finish, runs closers in reverse order, then exits 0; a
 * hard timeout exits 1. The sequence runs exactly once whatever signals arrive.
 */
export async function runService(options: RunOptions): Promise<RunningService> {
  const { app, logger, readiness, closers } = options;
  const timeoutMs = options.shutdownTimeoutMs ?? 10_000;
  const server = createServer(
    {
      headersTimeout: options.headersTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
    },
    app,
  );
  if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections;
  server.listen(options.port, options.host ?? "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;

  // Track which sockets carry a request so idle keep-alive sockets can be closed at once while
  // busy ones finish their response.
  const busy = new WeakMap<Socket, number>();
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("request", (req, res) => {
    const socket = req.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    // "close" fires after the response is sent and also when the client gave up first; "finish"
    // alone would leave an aborted request's socket counted busy and hold shutdown open.
    res.on("close", () => {
      const left = (busy.get(socket) ?? 1) - 1;
      busy.set(socket, left);
      if (left === 0 && shuttingDown) socket.end();
    });
  });

  let shuttingDown = false;
  let shutdownPromise: Promise<number> | undefined;

  const shutdown = (reason: string): Promise<number> => {
    if (shutdownPromise) return shutdownPromise;
    shuttingDown = true;
    shutdownPromise = (async () => {
      const t0 = performance.now();
      logger.info({ reason }, "shutting down");
      readiness.startDraining();
      const hardTimeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), timeoutMs).unref());
      const sequence = (async () => {
        await options.beforeDrain?.();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) if (!busy.get(socket)) socket.end();
        await closed;
        await closers.closeAll(logger);
        return "done" as const;
      })();
      const outcome = await Promise.race([sequence, hardTimeout]);
      const ms = Math.round(performance.now() - t0);
      if (outcome === "timeout") {
        logger.error({ ms, openSockets: sockets.size }, "shutdown timed out; forcing exit");
        for (const socket of sockets) socket.destroy();
        return 1;
      }
      logger.info({ ms }, "shutdown complete");
      return 0;
    })();
    if (options.exitProcess) {
      void shutdownPromise.then((code) => process.exit(code));
    }
    return shutdownPromise;
  };

  if (options.handleSignals) {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.on(signal, () => void shutdown(signal));
    }
  }

  readiness.set("http", true);
  logger.info({ port }, "listening");
  return { server, port, shutdown };
}
