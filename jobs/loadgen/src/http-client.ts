import net from "node:net";
import { requirePositiveInt } from "./errors";
import { jsonBody, keepAliveTimeoutSeconds, parseHttpOrigin, postRequest, ResponseParser, type ParsedResponse } from "./http-wire";

export interface HttpResponse {
  status: number;
  /** The parsed JSON body, or undefined when the answer was not JSON. */
  body: unknown;
}

export interface HttpClientOptions {
  /** e.g. http://127.0.0.1:8081 */
  baseUrl: string;
  /** Connections kept open to the target; at least the in-flight cap, so no request waits for one. */
  maxSockets?: number;
}

export class HttpRequestError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = "HttpRequestError";
  }
}

interface Exchange {
  bytes: string;
  signal: AbortSignal | undefined;
  resolve: (response: HttpResponse) => void;
  reject: (error: Error) => void;
  onAbort: (() => void) | null;
}

/** A server's idle connection is given up this long before the server's own keep-alive timeout says it closes. */
const IDLE_MARGIN_MS = 1000;

/** One keep-alive connection carrying one request at a time. */
class Connection {
  readonly socket: net.Socket;
  private readonly parser = new ResponseParser();
  exchange: Exchange | null = null;
  closed = false;
  /** Monotonic ms after which the server may have closed it while idle. */
  staleAfter = Number.POSITIVE_INFINITY;

  constructor(
    host: string,
    port: number,
    private readonly onFree: (c: Connection) => void,
    private readonly onGone: (c: Connection) => void,
  ) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    this.socket.on("error", (error: NodeJS.ErrnoException) => this.fail(new HttpRequestError(error.message, error.code ?? "ESOCKET")));
    this.socket.on("close", () => this.onClose());
  }

  send(exchange: Exchange): void {
    this.exchange = exchange;
    // Before the connection is up, net buffers the write and sends it on connect.
    this.socket.write(exchange.bytes);
  }

  private onData(chunk: Buffer): void {
    const exchange = this.exchange;
    let response: ParsedResponse | null;
    try {
      if (!exchange) throw new Error(`${chunk.length} bytes arrived on an idle connection`);
      response = this.parser.push(chunk);
    } catch (error) {
      this.fail(new HttpRequestError((error as Error).message, "EPROTO"));
      return;
    }
    if (!response) return;
    this.complete(exchange, response);
  }

  private complete(exchange: Exchange, response: ParsedResponse): void {
    this.exchange = null;
    detach(exchange);
    const seconds = keepAliveTimeoutSeconds(response.headers);
    if (seconds !== null) this.staleAfter = performance.now() + seconds * 1000 - IDLE_MARGIN_MS;
    if (response.close) this.destroy();
    else this.onFree(this);
    exchange.resolve({ status: response.status, body: jsonBody(response) });
  }

  private onClose(): void {
    // Closed by us (destroy): already accounted for.
    if (this.closed) return;
    const exchange = this.exchange;
    if (exchange) {
      try {
        const response = this.parser.end();
        if (response) {
          this.complete(exchange, response);
        } else {
          this.fail(new HttpRequestError("the connection closed before an answer", "ECONNRESET"));
        }
      } catch (error) {
        this.fail(new HttpRequestError((error as Error).message, "ECONNRESET"));
      }
    }
    this.destroy();
  }

  /** Fails the exchange in progress, if any, and drops the connection. */
  fail(error: Error): void {
    const exchange = this.exchange;
    this.exchange = null;
    this.destroy();
    if (exchange) {
      detach(exchange);
      exchange.reject(error);
    }
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.onGone(this);
  }
}

function detach(exchange: Exchange): void {
  if (exchange.onAbort) exchange.signal?.removeEventListener("abort", exchange.onAbort);
  exchange.onAbort = null;
}

/**
 * A keep-alive HTTP/1.1 client for POSTing JSON: connections are reused (no handshake per request),
 * each carries one request at a time, and the pool is as large as the in-flight cap, so the pool
 * never becomes a hidden queue (requests beyond it wait in order, counted in their latency). The
 * request is one prepared write and the answer is read by a small parser, so the instrument spends
 * little CPU, and little time between the answer arriving and it being timed.
 */
export class HttpClient {
  private readonly host: string;
  private readonly port: number;
  readonly baseUrl: string;
  /** The Host header requests carry: host and port. */
  readonly hostHeader: string;
  private readonly maxSockets: number;
  /** Idle connections, the most recently used last (LIFO: fewer cold connections under light load). */
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly waiting: Exchange[] = [];
  private closed = false;

  constructor(options: HttpClientOptions) {
    const origin = parseHttpOrigin(options.baseUrl);
    const maxSockets = options.maxSockets ?? 1000;
    requirePositiveInt("maxSockets", maxSockets);
    this.maxSockets = maxSockets;
    this.host = origin.host;
    this.port = origin.port;
    this.hostHeader = origin.hostHeader;
    this.baseUrl = options.baseUrl;
  }

  /** Connections open now (busy and idle). */
  get connections(): number {
    return this.all.size;
  }

  postJson(path: string, json: string, signal?: AbortSignal): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new HttpRequestError("the client is closed", "ECLOSED"));
      if (signal?.aborted) return reject(new HttpRequestError("aborted before it was sent", "ABORT_ERR"));
      const bytes = postRequest(path, this.hostHeader, json);
      const exchange: Exchange = { bytes, signal, resolve, reject, onAbort: null };
      if (signal) {
        exchange.onAbort = () => this.abort(exchange);
        signal.addEventListener("abort", exchange.onAbort, { once: true });
      }
      this.dispatch(exchange);
    });
  }

  private dispatch(exchange: Exchange): void {
    const now = performance.now();
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      if (c.closed) continue;
      if (now < c.staleAfter) return c.send(exchange);
      c.destroy();
    }
    if (this.all.size < this.maxSockets) {
      const c = new Connection(this.host, this.port, (free) => this.release(free), (gone) => this.forget(gone));
      this.all.add(c);
      return c.send(exchange);
    }
    this.waiting.push(exchange);
  }

  private release(c: Connection): void {
    const next = this.waiting.shift();
    if (next) c.send(next);
    else this.idle.push(c);
  }

  private forget(c: Connection): void {
    this.all.delete(c);
    // A connection slot came free: the oldest waiting request may open a new one.
    const next = this.waiting.shift();
    if (next && !this.closed) this.dispatch(next);
  }

  private abort(exchange: Exchange): void {
    const waitingAt = this.waiting.indexOf(exchange);
    if (waitingAt >= 0) this.waiting.splice(waitingAt, 1);
    for (const c of this.all) {
      if (c.exchange === exchange) {
        // The answer may still come: the connection cannot carry another request, so it goes.
        c.fail(new HttpRequestError("aborted", "ABORT_ERR"));
        return;
      }
    }
    detach(exchange);
    exchange.reject(new HttpRequestError("aborted", "ABORT_ERR"));
  }

  close(): void {
    this.closed = true;
    for (const exchange of this.waiting.splice(0)) {
      detach(exchange);
      exchange.reject(new HttpRequestError("the client is closed", "ECLOSED"));
    }
    for (const c of [...this.all]) c.fail(new HttpRequestError("the client is closed", "ECLOSED"));
    this.idle.length = 0;
  }
}
