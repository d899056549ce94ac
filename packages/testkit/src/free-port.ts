import { createServer, type Server } from "node:net";

function listen(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port, exclusive: true }, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Ports the kernel hands out as free right now. All are held open until every one is chosen, so
 * they are distinct; another process can still take one before our server binds it, which callers
 * handle by retrying the start.
 */
export async function freePorts(count: number, host = "127.0.0.1"): Promise<number[]> {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count: expected a positive integer, got ${count}`);
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await listen(host, 0));
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === "string") throw new Error("listening socket has no port");
      return address.port;
    });
  } finally {
    await Promise.all(servers.map(close));
  }
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
  const [port] = await freePorts(1, host);
  if (port === undefined) throw new Error("no port allocated");
  return port;
}

/** True when nothing listens on host:port and we could bind it. */
export async function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  try {
    await close(await listen(host, port));
    return true;
  } catch {
    return false;
  }
}
