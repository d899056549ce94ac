import type { HttpClient } from "../http-client";
import { postRequest } from "../http-wire";
import type { Answer, OpenLoopOptions, SendContext } from "../open-loop";

/** One request of a mix, serialised before the run so the scheduler only sends. */
export interface PreparedRequest {
  body: string;
  /** Built to be refused (e.g. an invalid transaction): a 4xx is then the right answer. */
  expectRejection: boolean;
}

/** An endpoint and the requests to send it, drawn from a synthetic world. */
export interface LoadTarget {
  /** The budget name, e.g. "fraud". */
  endpoint: string;
  path: string;
  next(): PreparedRequest;
  /** Reads the stage timings and the degraded/fallback flag from an answer's body. */
  interpret(status: number, body: unknown): Pick<Answer, "timings" | "fallback">;
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function numericRecord(v: unknown): Record<string, number> | undefined {
  if (!isRecord(v)) return undefined;
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === "number" && Number.isFinite(x)) out[k] = x;
  return out;
}

/**
 * The `endpoint`, `prepare`, `send` and `http` of an open-loop run against a target over HTTP:
 * `prepare` draws and serialises the whole schedule's requests up front; `send` only posts them
 * through `client`, and `http` hands them, as bytes, to the sender thread (precise timer).
 */
export function httpSender(target: LoadTarget, client: HttpClient): Pick<OpenLoopOptions, "endpoint" | "prepare" | "send" | "http"> {
  let prepared: PreparedRequest[] = [];
  const at = (index: number): PreparedRequest => {
    const request = prepared[index];
    if (!request) throw new RangeError(`request ${index} was not prepared (${prepared.length} were)`);
    return request;
  };
  return {
    endpoint: target.endpoint,
    prepare: (count) => {
      prepared = Array.from({ length: count }, () => target.next());
    },
    send: async ({ index, signal }: SendContext): Promise<Answer> => {
      const request = at(index);
      const response = await client.postJson(target.path, request.body, signal);
      return { status: response.status, expectRejection: request.expectRejection, ...target.interpret(response.status, response.body) };
    },
    http: {
      url: client.baseUrl,
      request: (index) => postRequest(target.path, client.hostHeader, at(index).body),
      answer: (index, status, body) => ({ status, expectRejection: at(index).expectRejection, ...target.interpret(status, body) }),
    },
  };
}
