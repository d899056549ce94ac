import { request as httpRequest, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import type { DockerEndpoint } from "./env";

/**
 * Whether a Docker engine answers `GET /_ping` within timeoutMs. A docker client binary alone (as
 * on machines without an engine) does not count: testcontainers would hang or fail later.
 */
export function dockerEngineAnswers(endpoint: DockerEndpoint, timeoutMs = 800): Promise<boolean> {
  return new Promise((resolve) => {
    let options: RequestOptions;
    let request = httpRequest;
    if (endpoint.kind === "socket") {
      options = { socketPath: endpoint.path, path: "/_ping", method: "GET" };
    } else {
      const url = new URL("/_ping", endpoint.baseUrl);
      options = { hostname: url.hostname, port: url.port, path: url.pathname, method: "GET" };
      if (url.protocol === "https:") request = httpsRequest;
    }
    let settled = false;
    const done = (answer: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(answer);
    };
    const req = request(options, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => done(res.statusCode === 200 && body.trim() === "OK"));
      res.on("error", () => done(false));
    });
    const timer = setTimeout(() => done(false), timeoutMs);
    req.on("error", () => done(false));
    req.end();
  });
}
