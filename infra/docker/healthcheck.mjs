// Container health probe: `node healthcheck.mjs [/path]` asks http://127.0.0.1:$PORT/path (default
// /healthz) and exits 0 on a 2xx answer, 1 otherwise. Slim images have no curl or wget; node is
// there. Compose probes /readyz so that depends_on waits for loaded models, not only a listener.
import http from "node:http";

const TIMEOUT_MS = 2_000;

function probe(port, path) {
  return new Promise((resolve) => {
    const request = http.get({ host: "127.0.0.1", port, path, timeout: TIMEOUT_MS }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      resolve({ ok: status >= 200 && status < 300, detail: `HTTP ${status}` });
    });
    request.on("timeout", () => request.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    request.on("error", (error) => resolve({ ok: false, detail: error.message }));
  });
}

const port = Number(process.env.PORT);
const path = process.argv[2] ?? "/healthz";
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write(`healthcheck: PORT must be set to the service's port, got "${process.env.PORT ?? ""}"\n`);
  process.exit(1);
}
const { ok, detail } = await probe(port, path);
if (!ok) process.stderr.write(`healthcheck: ${path} on port ${port}: ${detail}\n`);
process.exit(ok ? 0 : 1);
