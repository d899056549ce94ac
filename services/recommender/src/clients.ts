import http from "node:http";
import { CandidatesResponseSchema, RankResponseSchema, type CandidatesRequestInput, type CandidatesResponse, type RankRequestInput, type RankResponse } from "@mlsd/contracts";
import type { z } from "zod";

/** What the recommender needs from the retrieval service. */
export interface RetrievalClient {
  candidates(body: CandidatesRequestInput, signal: AbortSignal, requestId?: string): Promise<CandidatesResponse>;
}

/** What the recommender needs from the ranker service. */
export interface RankerClient {
  rank(body: RankRequestInput, signal: AbortSignal, requestId?: string): Promise<RankResponse>;
}

/** A dependency answered, but not with a usable body: an error status or a body off its contract. */
export class DependencyError extends Error {
  constructor(
    readonly dependency: string,
    readonly status: number | null,
    message: string,
  ) {
    super(`${dependency}: ${message}`);
    this.name = "DependencyError";
  }
}

/**
 * JSON over HTTP/1.1 with keep-alive: one connection pool per dependency, so a request costs no
 * TCP handshake, and an AbortSignal that tears the request down when its deadline passes.
 */
export class JsonHttpClient {
  private readonly agent: http.Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(
    readonly name: string,
    baseUrl: string,
    options: { maxSockets?: number } = {},
  ) {
    const url = new URL(baseUrl);
    if (url.protocol !== "http:") throw new RangeError(`${name}: only http:// URLs are supported, got ${baseUrl}`);
    this.host = url.hostname;
    this.port = Number(url.port || 80);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64, scheduling: "lifo" });
  }

  post<S extends z.ZodTypeAny>(path: string, body: unknown, schema: S, signal: AbortSignal, requestId?: string): Promise<z.infer<S>> {
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { "content-type": "application/json", "content-length": Buffer.byteLength(payload) };
      if (requestId) headers["x-request-id"] = requestId;
      const req = http.request({ agent: this.agent, host: this.host, port: this.port, path, method: "POST", headers, signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            reject(new DependencyError(this.name, status, `answered ${status} with a body that is not JSON`));
            return;
          }
          if (status < 200 || status >= 300) {
            const error = (json as { error?: { code?: string; message?: string } }).error;
            reject(new DependencyError(this.name, status, `answered ${status} ${error?.code ?? ""} ${error?.message ?? ""}`.trim()));
            return;
          }
          const parsed = schema.safeParse(json);
          if (!parsed.success) {
            reject(new DependencyError(this.name, status, `answer off contract at ${parsed.error.issues[0]?.path.join(".") || "(body)"}: ${parsed.error.issues[0]?.message}`));
            return;
          }
          resolve(parsed.data);
        });
      });
      req.on("error", reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export class HttpRetrievalClient implements RetrievalClient {
  constructor(private readonly http: JsonHttpClient) {}

  candidates(body: CandidatesRequestInput, signal: AbortSignal, requestId?: string): Promise<CandidatesResponse> {
    return this.http.post("/v1/candidates", body, CandidatesResponseSchema, signal, requestId);
  }
}

export class HttpRankerClient implements RankerClient {
  constructor(private readonly http: JsonHttpClient) {}

  rank(body: RankRequestInput, signal: AbortSignal, requestId?: string): Promise<RankResponse> {
    return this.http.post("/v1/rank", body, RankResponseSchema, signal, requestId);
  }
}
