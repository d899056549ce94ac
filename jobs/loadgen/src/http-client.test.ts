import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HttpClient } from "./http-client";

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

/** A server that drops a kept-alive connection without answering on its `dropOn`-th request (the keep-alive race). */
async function server(dropOn: number | null): Promise<{ url: string; seen: { socket: number; auth: string | undefined }[] }> {
  const seen: { socket: number; auth: string | undefined }[] = [];
  const sockets = new Map<unknown, number>();
  const perSocket = new Map<number, number>();
  const s = http.createServer((req, res) => {
    if (!sockets.has(req.socket)) sockets.set(req.socket, sockets.size);
    const id = sockets.get(req.socket) as number;
    const n = (perSocket.get(id) ?? 0) + 1;
    perSocket.set(id, n);
    seen.push({ socket: id, auth: req.headers.authorization });
    req.resume();
    req.on("end", () => {
      if (dropOn !== null && n === dropOn) {
        req.socket.destroy();
        return;
      }
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ n }));
    });
  });
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, seen };
}

describe("HttpClient", () => {
  it("sends extra headers with the JSON body", async () => {
    const { url, seen } = await server(null);
    const client = new HttpClient({ baseUrl: url, maxSockets: 1 });
    expect(await client.postJson("/x", "{}", undefined, { authorization: "Bearer t" })).toEqual({ status: 200, body: { n: 1 } });
    expect(seen).toEqual([{ socket: 0, auth: "Bearer t" }]);
    client.close();
  });

  it("refuses a header value that would break the request on the wire", async () => {
    const { url, seen } = await server(null);
    const client = new HttpClient({ baseUrl: url, maxSockets: 1 });
    await expect(client.postJson("/x", "{}", undefined, { authorization: "Bearer t\r\nx-evil: 1" })).rejects.toThrow(/cannot go on the wire/);
    expect(seen).toEqual([]);
    client.close();
  });
});
