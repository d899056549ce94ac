import http from "node:http";
import { LoadgenInputError, requirePositiveInt } from "./errors";

export interface HttpResponse {
  status: number;
  /** The parsed JSON body, or undefined when the answer was not JSON. */
  body: unknown;
}

export interface HttpClientOptions {
  /** e.g. http://127.0.0.1:8081 */
  baseUrl: string;
  /** Sockets kept open to the target; at least the in-flight cap, so no request waits for one. */
  maxSockets?: number;
}

/**
 * A keep-alive HTTP/1.1 client for POSTing JSON: connections are reused (no handshake per request)
 * and the socket pool is as large as the in-flight cap, so the pool never becomes a hidden queue.
 */
export class HttpClient {
  private readonly agent: http.Agent;
  private readonly url: URL;

  constructor(options: HttpClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new LoadgenInputError("url", `must be an http:// URL, got "${options.baseUrl}"`);
    }
    if (url.protocol !== "http:") throw new LoadgenInputError("url", `must be an http:// URL, got "${options.baseUrl}"`);
    const maxSockets = options.maxSockets ?? 1000;
    requirePositiveInt("maxSockets", maxSockets);
    this.url = url;
    // LIFO hands out the most recently used socket: fewer cold sockets under light load.
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: "lifo" });
  }

  /** `headers` are added to the content headers (e.g. `authorization` for a writer's token). */
  postJson(path: string, json: string, signal?: AbortSignal, headers: Record<string, string> = {}): Promise<HttpResponse> {
    return this.attempt(path, json, signal, headers, true);
  }

  private attempt(path: string, json: string, signal: AbortSignal | undefined, headers: Record<string, string>, mayRetry: boolean): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          agent: this.agent,
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          port: this.url.port,
          path,
          method: "POST",
          headers: { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(json) },
          ...(signal ? { signal } : {}),
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let body: unknown;
            if ((response.headers["content-type"] ?? "").includes("json")) {
              try {
                body = JSON.parse(text);
              } catch {
                body = undefined;
              }
            }
            resolve({ status: response.statusCode ?? 0, body });
          });
        },
      );
      request.on("error", (error: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed as idle just as this request went out: the server
        // never read the request, so sending it again on a fresh socket is safe (Node's documented
        // keep-alive race), and not a failure of the target.
        if (mayRetry && request.reusedSocket && error.code === "ECONNRESET" && !signal?.aborted) {
          this.attempt(path, json, signal, headers, false).then(resolve, reject);
          return;
        }
        reject(error);
      });
      request.end(json);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
