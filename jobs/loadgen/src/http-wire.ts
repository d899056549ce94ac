import { LoadgenInputError } from "./errors";

/** One HTTP/1.1 answer as the load generator needs it. */
export interface ParsedResponse {
  status: number;
  /** Lower-cased header names; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: Buffer;
  /** The server will close the connection after this answer (or asked for it). */
  close: boolean;
}

const CRLF = Buffer.from("\r\n");
const HEAD_END = Buffer.from("\r\n\r\n");
/** A head or chunk-size line this long is not an HTTP answer a service sends. */
const MAX_HEAD_BYTES = 64 * 1024;

type State = "head" | "length" | "chunk-size" | "chunk-data" | "chunk-end" | "trailers" | "until-close";

export class HttpProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HttpProtocolError";
  }
}

/**
 * An incremental parser for the answers on one keep-alive connection, one request at a time (no
 * pipelining): feed it what the socket reads, it returns the answer once complete. Knows
 * Content-Length, chunked transfer coding, bodiless statuses, answers delimited by the connection
 * closing, and skips interim 1xx answers. Small on purpose: `node:http`'s client costs several
 * times the CPU per request, which the generator's own error pays for.
 */
export class ResponseParser {
  private state: State = "head";
  private pending: Buffer = Buffer.alloc(0);
  private status = 0;
  private headers: Record<string, string> = {};
  private close = false;
  private remaining = 0;
  private bodyParts: Buffer[] = [];
  /** The request was a HEAD: the answer has headers only. */
  expectBodyless = false;

  /** True while an answer is partly read. */
  get busy(): boolean {
    return this.state !== "head" || this.pending.length > 0;
  }

  /** Feeds bytes read from the socket; returns the answer when these bytes complete it. */
  push(chunk: Buffer): ParsedResponse | null {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const done = this.step();
      if (done === "more") return null;
      if (done !== "continue") {
        if (this.pending.length > 0) throw new HttpProtocolError(`${this.pending.length} bytes arrived after a complete answer (no request was pipelined)`);
        return done;
      }
    }
  }

  /** The connection closed: completes an answer delimited by the close, else says what was cut. */
  end(): ParsedResponse | null {
    if (this.state === "until-close") {
      this.bodyParts.push(this.pending);
      this.pending = Buffer.alloc(0);
      return this.finish();
    }
    if (this.busy) throw new HttpProtocolError(`the connection closed in the middle of an answer (while reading ${this.state})`);
    return null;
  }

  private step(): ParsedResponse | "more" | "continue" {
    switch (this.state) {
      case "head":
        return this.readHead();
      case "length": {
        if (this.pending.length < this.remaining) return "more";
        this.bodyParts.push(this.pending.subarray(0, this.remaining));
        this.pending = this.pending.subarray(this.remaining);
        return this.finish();
      }
      case "chunk-size": {
        const eol = this.pending.indexOf(CRLF);
        if (eol < 0) return this.guardLine();
        const line = this.pending.toString("latin1", 0, eol);
        const size = Number.parseInt(line.split(";")[0] as string, 16);
        if (!Number.isFinite(size) || size < 0 || !/^[0-9a-fA-F]+/.test(line)) throw new HttpProtocolError(`bad chunk size "${line}"`);
        this.pending = this.pending.subarray(eol + 2);
        this.remaining = size;
        this.state = size === 0 ? "trailers" : "chunk-data";
        return "continue";
      }
      case "chunk-data": {
        if (this.pending.length < this.remaining) return "more";
        this.bodyParts.push(this.pending.subarray(0, this.remaining));
        this.pending = this.pending.subarray(this.remaining);
        this.state = "chunk-end";
        return "continue";
      }
      case "chunk-end": {
        if (this.pending.length < 2) return "more";
        if (this.pending[0] !== 13 || this.pending[1] !== 10) throw new HttpProtocolError("a chunk did not end with CRLF");
        this.pending = this.pending.subarray(2);
        this.state = "chunk-size";
        return "continue";
      }
      case "trailers": {
        const eol = this.pending.indexOf(CRLF);
        if (eol < 0) return this.guardLine();
        this.pending = this.pending.subarray(eol + 2);
        // Trailer fields are skipped; an empty line ends the answer.
        return eol === 0 ? this.finish() : "continue";
      }
      case "until-close":
        this.bodyParts.push(this.pending);
        this.pending = Buffer.alloc(0);
        return "more";
    }
  }

  private guardLine(): "more" {
    if (this.pending.length > MAX_HEAD_BYTES) throw new HttpProtocolError(`a line of more than ${MAX_HEAD_BYTES} bytes`);
    return "more";
  }

  private readHead(): ParsedResponse | "more" | "continue" {
    if (this.pending.length === 0) return "more";
    const end = this.pending.indexOf(HEAD_END);
    if (end < 0) {
      if (this.pending.length > MAX_HEAD_BYTES) throw new HttpProtocolError(`an answer head of more than ${MAX_HEAD_BYTES} bytes`);
      return "more";
    }
    const lines = this.pending.toString("latin1", 0, end).split("\r\n");
    this.pending = this.pending.subarray(end + 4);
    const statusLine = lines[0] as string;
    const match = /^HTTP\/1\.([01]) (\d{3})/.exec(statusLine);
    if (!match) throw new HttpProtocolError(`not an HTTP/1.x status line: "${statusLine.slice(0, 80)}"`);
    const status = Number(match[2]);
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(":");
      if (colon <= 0) throw new HttpProtocolError(`bad header line "${line.slice(0, 80)}"`);
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    // An interim answer (100 Continue, 103 Early Hints) precedes the real one.
    if (status >= 100 && status < 200 && status !== 101) return "continue";
    this.status = status;
    this.headers = headers;
    const connection = (headers.connection ?? "").toLowerCase();
    this.close = match[1] === "0" ? !connection.includes("keep-alive") : connection.includes("close");
    this.bodyParts = [];
    if (this.expectBodyless || status === 204 || status === 304) return this.finish();
    if ((headers["transfer-encoding"] ?? "").toLowerCase().includes("chunked")) {
      this.state = "chunk-size";
      return "continue";
    }
    if (headers["content-length"] !== undefined) {
      const length = Number(headers["content-length"]);
      if (!Number.isInteger(length) || length < 0) throw new HttpProtocolError(`bad Content-Length "${headers["content-length"]}"`);
      this.remaining = length;
      this.state = "length";
      return "continue";
    }
    this.close = true;
    this.state = "until-close";
    return "continue";
  }

  private finish(): ParsedResponse {
    const body = this.bodyParts.length === 1 ? (this.bodyParts[0] as Buffer) : Buffer.concat(this.bodyParts);
    const response: ParsedResponse = { status: this.status, headers: this.headers, body, close: this.close };
    this.state = "head";
    this.bodyParts = [];
    this.headers = {};
    this.remaining = 0;
    return response;
  }
}

/** Seconds the server keeps an idle connection open, from `Keep-Alive: timeout=N`; null if unsaid. */
export function keepAliveTimeoutSeconds(headers: Record<string, string>): number | null {
  const match = /(?:^|[,\s])timeout=(\d+)/i.exec(headers["keep-alive"] ?? "");
  return match ? Number(match[1]) : null;
}

/** A POST of a JSON body as one HTTP/1.1 request on a keep-alive connection. */
export function postRequest(path: string, host: string, json: string): string {
  return `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
}

/** The answer's body parsed as JSON when it says it is JSON, else undefined. */
export function jsonBody(response: ParsedResponse): unknown {
  if (!(response.headers["content-type"] ?? "").includes("json")) return undefined;
  try {
    return JSON.parse(response.body.toString("utf8"));
  } catch {
    return undefined;
  }
}

/** Where an http:// base URL points: the socket address and the Host header. */
export interface HttpOrigin {
  host: string;
  port: number;
  /** host:port as the Host header carries it. */
  hostHeader: string;
}

export function parseHttpOrigin(text: string): HttpOrigin {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new LoadgenInputError("url", `must be an http:// URL, got "${text}"`);
  }
  if (url.protocol !== "http:") throw new LoadgenInputError("url", `must be an http:// URL, got "${text}"`);
  return { host: url.hostname.replace(/^\[|\]$/g, ""), port: url.port === "" ? 80 : Number(url.port), hostHeader: url.host };
}
