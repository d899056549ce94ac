import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/**
 * A server that does nothing: `node:http`, every request answered at once with a small JSON body.
 * It runs in a process of its own so it does not share the generator's event loop; what the
 * generator measures against it is the instrument's own error (plus the least any Node server
 * costs). Plain JavaScript run with `node -e`, so it needs no loader.
 */
const NULL_SERVER_SOURCE = `
const http = require("node:http");
const body = Buffer.from('{"ok":true}');
const headers = { "content-type": "application/json", "content-length": String(body.length) };
const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, headers);
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.listen(0, process.argv[1] || "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\\n");
});
const stop = () => { server.closeAllConnections(); server.close(() => process.exit(0)); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.resume();
`;

export interface NullServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export interface NullServerOptions {
  host?: string;
  /** Run it under `taskset -c CPUS` (a CPU list, e.g. "1" or "1-3"). */
  cpus?: string;
  startTimeoutMs?: number;
}

/** Starts the null server on a free port; it also stops when this process dies (its stdin closes). */
export async function startNullServer(options: NullServerOptions = {}): Promise<NullServer> {
  const host = options.host ?? "127.0.0.1";
  const node = [process.execPath, "-e", NULL_SERVER_SOURCE, host];
  const [command, ...args] = options.cpus ? ["taskset", "-c", options.cpus, ...node] : node;
  const child = spawn(command as string, args, { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    const port = await readPort(child, options.startTimeoutMs ?? 10_000);
    return {
      url: `http://${host}:${port}`,
      pid: child.pid as number,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        await exited;
      },
    };
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    throw error;
  }
}

function readPort(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const timer = setTimeout(() => done(new Error(`the null server did not start within ${timeoutMs} ms`)), timeoutMs);
    const onExit = (code: number | null, signal: string | null) => done(new Error(`the null server exited with ${code ?? signal} before listening`));
    const onError = (error: Error) => done(error);
    function done(error: Error | null, port?: number): void {
      clearTimeout(timer);
      child.off("exit", onExit);
      child.off("error", onError);
      lines.close();
      if (error) reject(error);
      else resolve(port as number);
    }
    child.once("exit", onExit);
    child.once("error", onError);
    lines.once("line", (line) => {
      try {
        done(null, (JSON.parse(line) as { port: number }).port);
      } catch {
        done(new Error(`the null server said "${line}" instead of its port`));
      }
    });
  });
}
