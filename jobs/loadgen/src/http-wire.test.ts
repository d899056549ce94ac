import { describe, expect, it } from "vitest";
import { HttpProtocolError, jsonBody, keepAliveTimeoutSeconds, postRequest, ResponseParser } from "./http-wire";

const b = (s: string) => Buffer.from(s, "latin1");

/** Feeds `text` in pieces cut at `cuts`; returns what each piece completed. */
function feed(parser: ResponseParser, text: string, cuts: number[]) {
  const bounds = [0, ...cuts, text.length];
  return bounds.slice(1).map((end, i) => parser.push(b(text.slice(bounds[i], end))));
}

describe("ResponseParser", () => {
  it("reads a Content-Length answer however the socket cuts it", () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nKeep-Alive: timeout=5\r\n\r\n{"ok":true}';
    for (const cuts of [[], [5], [40, 80], [text.length - 1]]) {
      const parser = new ResponseParser();
      const results = feed(parser, text, cuts);
      expect(results.slice(0, -1)).toEqual(results.slice(0, -1).map(() => null));
      const response = results[results.length - 1];
      expect(response).toMatchObject({ status: 200, close: false, headers: { "content-type": "application/json", "keep-alive": "timeout=5" } });
      expect(response?.body.toString()).toBe('{"ok":true}');
      expect(parser.busy).toBe(false);
    }
  });

  it("reads chunked answers with extensions and trailers, one after another on the same connection", () => {
    const parser = new ResponseParser();
    const chunked = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n";
    const [first, second] = [feed(parser, chunked, [30, 55, 70]).pop(), parser.push(b("HTTP/1.1 204 No Content\r\n\r\n"))];
    expect(first?.status).toBe(201);
    expect(first?.body.toString()).toBe("Wikipedia in \r\n\r\nchunks.");
    expect(second).toMatchObject({ status: 204, close: false });
    expect(second?.body.length).toBe(0);
  });

  it("skips interim 1xx answers and honours Connection: close and HTTP/1.0", () => {
    const parser = new ResponseParser();
    const response = parser.push(b("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno"));
    expect(response).toMatchObject({ status: 503, close: true });
    expect(new ResponseParser().push(b("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"))?.close).toBe(true);
    expect(new ResponseParser().push(b("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"))?.close).toBe(false);
  });

  it("completes an answer without a length when the connection closes, and says when one was cut short", () => {
    const untilClose = new ResponseParser();
    expect(untilClose.push(b("HTTP/1.1 200 OK\r\n\r\npart one, "))).toBeNull();
    expect(untilClose.push(b("part two"))).toBeNull();
    expect(untilClose.end()?.body.toString()).toBe("part one, part two");

    const cut = new ResponseParser();
    cut.push(b("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
    expect(() => cut.end()).toThrow(/closed in the middle of an answer \(while reading length\)/);
    expect(new ResponseParser().end()).toBeNull();
  });

  it("refuses what is not an HTTP answer, or bytes no request asked for", () => {
    expect(() => new ResponseParser().push(b("SSH-2.0-OpenSSH\r\n\r\n"))).toThrow(HttpProtocolError);
    expect(() => new ResponseParser().push(b("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"))).toThrow(/bad Content-Length "x"/);
    expect(() => new ResponseParser().push(b("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))).toThrow(/bad chunk size "zz"/);
    expect(() => new ResponseParser().push(b("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab"))).toThrow(/1 bytes arrived after a complete answer/);
  });
});

describe("wire helpers", () => {
  it("serialises a JSON POST with its length in bytes, not characters", () => {
    expect(postRequest("/v1/x", "127.0.0.1:8081", '{"name":"é"}')).toBe('POST /v1/x HTTP/1.1\r\nhost: 127.0.0.1:8081\r\ncontent-type: application/json\r\ncontent-length: 13\r\n\r\n{"name":"é"}');
  });

  it("reads the keep-alive timeout and JSON bodies", () => {
    expect(keepAliveTimeoutSeconds({ "keep-alive": "timeout=5, max=100" })).toBe(5);
    expect(keepAliveTimeoutSeconds({})).toBeNull();
    const answer = (type: string, body: string) => ({ status: 200, headers: { "content-type": type }, body: b(body), close: false });
    expect(jsonBody(answer("application/json; charset=utf-8", '{"a":1}'))).toEqual({ a: 1 });
    expect(jsonBody(answer("application/json", "{broken"))).toBeUndefined();
    expect(jsonBody(answer("text/plain", '{"a":1}'))).toBeUndefined();
  });
});
