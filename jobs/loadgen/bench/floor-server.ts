/**
 * What the floor servers share (bench/fraud-floor.ts here, services/recommender/bench/recs-floor.ts): their command line,
 * and `node:http` around one route with no framework: the body parsed with JSON.parse, the answer
 * sent with JSON.stringify, GET /readyz, GET /<count> (how many answers it gave, for the bench to
 * divide CPU by), SIGTERM closes the server, then `close()` (flush events, quit Redis), then exits.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { parseArgs } from "node:util";

export interface FloorArgs {
  port: number;
  redisUrl: string;
  brokers: string;
  registryDir: string;
  journal: string;
}

export function floorArgs(script: string): FloorArgs {
  const { values } = parseArgs({ options: { port: { type: "string" }, redis: { type: "string" }, kafka: { type: "string" }, registry: { type: "string" }, journal: { type: "string" } } });
  const { port, redis, kafka, registry, journal } = values;
  if (!port || !redis || !kafka || !registry || !journal) throw new Error(`usage: ${script} --port P --redis URL --kafka HOST:PORT --registry DIR --journal DIR`);
  return { port: Number(port), redisUrl: redis, brokers: kafka, registryDir: registry, journal };
}

/** A refusal with its HTTP status (the services' 4xx); anything else thrown answers 500. */
export class FloorHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** What SIGTERM flushes and closes before the floor exits. */
export interface FloorClients {
  events: { close(timeoutMs: number): Promise<unknown> };
  redis: { quit(): Promise<unknown> };
}

export function serveFloor<Req>(o: { port: number; path: string; count: string; answer: (body: Req) => Promise<unknown>; clients: FloorClients }): void {
  let answered = 0;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method === "GET" && req.url === "/readyz") return send(res, 200, { ready: true });
    if (req.method === "GET" && req.url === `/${o.count}`) return send(res, 200, { [o.count]: answered });
    if (req.method !== "POST" || req.url !== o.path) return send(res, 404, { error: { code: "NOT_FOUND" } });
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      let body: Req;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Req;
      } catch {
        return send(res, 400, { error: { code: "VALIDATION", message: "body is not JSON" } });
      }
      o.answer(body).then(
        (answer) => {
          // Counted as the services' counters count: every answer, replays included.
          answered++;
          send(res, 200, answer);
        },
        (error: Error) => send(res, error instanceof FloorHttpError ? error.status : 500, { error: { code: "FLOOR", message: error.message } }),
      );
    });
  };
  const server = createServer(handle);
  server.keepAliveTimeout = 65_000;
  server.listen(o.port, "127.0.0.1");
  process.once("SIGTERM", () => {
    server.close();
    server.closeAllConnections();
    o.clients.events.close(3_000).then(
      () => o.clients.redis.quit().finally(() => process.exit(0)),
      () => process.exit(1),
    );
  });
}
