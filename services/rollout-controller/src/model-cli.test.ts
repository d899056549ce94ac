import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runModelCli } from "./model-command";
import { ADMIN, closedUrl, registryFixture, reloadServer, type RegistryFixture, type ReloadServer } from "./test-fixtures";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

let fixture: RegistryFixture;
let reloads: ReloadServer;
let server: Server;
let url: string;

beforeAll(async () => {
  reloads = await reloadServer();
  fixture = await registryFixture([reloads.url]);
  server = createServer(fixture.app);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await reloads.close();
});

/** Runs the CLI in-process against the service on its port: exit status, stdout, stderr. */
async function model(args: string[], token: string | null = ADMIN) {
  let out = "";
  let err = "";
  const code = await runModelCli([...args, "--url", url], { MLSD_ADMIN_TOKEN: token ?? undefined, user: "alice" }, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe("npm run model", () => {
  it("lists models and shows one model's versions, in text and JSON", async () => {
    const list = await model(["list"]);
    expect(list.code).toBe(0);
    expect(list.out.split("\n")[0]).toMatch(/^model\s+versions\s+current\s+previous\s+candidate\s+other aliases\s+pinned$/);
    expect(list.out).toMatch(/^fraud-gbdt\s+3\s+f1\s+-\s+f2\s+-\s+-$/m);
    expect(list.out).toMatch(/^ranker-gbdt\s+2\s+k1\s+-\s+k2\s+-\s+-$/m);
    const show = await model(["show", "fraud-gbdt"]);
    expect(show.out).toMatch(/^fraud-gbdt: 3 versions; aliases current=f1 candidate=f2; pinned: -$/m);
    expect(show.out).toMatch(/^f2\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+candidate\s+[0-9a-f]+\s+auc=0.9 cost=9120$/m);
    const json = await model(["show", "fraud-gbdt", "--json"]);
    expect(JSON.parse(json.out).versions.map((v: { version: string }) => v.version)).toEqual(["f1", "f2", "f3"]);
  });

  it("promotes with a reason, recorded as the token's role and the actor, and reports each service's reload", async () => {
    const done = await model(["promote", "fraud-gbdt", "--reason", "cost 9120 vs 9800 on the same rows"]);
    expect(done.err).toBe("");
    expect(done.code).toBe(0);
    expect(done.out).toMatch(/^ {2}promote\s+current\s+f1 -> f2 {2}by admin:alice: cost 9120 vs 9800 on the same rows$/m);
    expect(done.out).toMatch(/^compatibility: ok$/m);
    expect(done.out).toMatch(new RegExp(`^reload ${reloads.url}: ok 200 \\{"version":"reloaded"\\} \\(\\d+ ms\\)$`, "m"));
    expect(fixture.admin.registry.aliases("fraud-gbdt")).toEqual({ current: "f2", previous: "f1" });
    expect(reloads.calls.at(-1)).toEqual({ method: "POST", path: "/v1/model/reload", auth: `Bearer ${ADMIN}`, body: "" });
    const history = await model(["history", "fraud-gbdt", "--limit", "3"]);
    expect(history.out.trim().split("\n")).toHaveLength(3);
    expect(history.out).toMatch(/Z {2}promote\s+candidate\s+f2 -> \(removed\) {2}by admin:alice: cost 9120 vs 9800 on the same rows$/m);
  });

  it("exits non-zero with the server's reason when it refuses, and 2 on a usage error", async () => {
    const noToken = await model(["rollback", "fraud-gbdt", "--reason", "x"], null);
    expect(noToken.code).toBe(2);
    expect(noToken.err).toMatch(/^rollback needs the admin token: set MLSD_ADMIN_TOKEN/);
    const noReason = await model(["rollback", "fraud-gbdt"]);
    expect(noReason.code).toBe(1);
    expect(noReason.err).toBe("refused (HTTP 400 VALIDATION_FAILED): invalid request body: reason\n  reason: Required\n");
    const wrongToken = await model(["rollback", "fraud-gbdt", "--reason", "oops"], "a-wrong-token-of-16-chars");
    expect(wrongToken).toMatchObject({ code: 1, err: "refused (HTTP 401 UNAUTHORIZED): invalid token\n" });
    const incompatible = await model(["promote", "ranker-gbdt", "--reason", "NDCG up"]);
    expect(incompatible.code).toBe(1);
    expect(incompatible.err).toMatch(/^refused \(HTTP 409 CONFLICT\): ranker-gbdt@k2 is not compatible with what is current/);
    expect(incompatible.err).toMatch(/^ {2}- ranker-gbdt@k2 was trained on the scores of retrieval r2, not r1 \(under "current"\)$/m);
    const json = await model(["promote", "ranker-gbdt", "--reason", "NDCG up", "--json"]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out).error.details.registryCode).toBe("INCOMPATIBLE");
    expect((await model(["unknown-command"])).code).toBe(2);
    expect((await model(["pin", "fraud-gbdt"])).err).toMatch(/^pin takes <model> <alias>, got fraud-gbdt/);
    const nobody = await closedUrl();
    let unreachable = "";
    expect(await runModelCli(["list", "--url", nobody], {}, { out: () => undefined, err: (t) => (unreachable += t) })).toBe(1);
    expect(unreachable).toBe(`cannot reach the rollout controller at ${nobody}/v1/models: ECONNREFUSED (start it, or pass --url)\n`);
    expect(fixture.admin.registry.aliases("ranker-gbdt").current).toBe("k1");
  });

  it("pins, sets a named arm, unpins and rolls back; exits 3 when a service did not reload", async () => {
    expect((await model(["pin", "ranker-gbdt", "current", "--reason", "quarter close", "--actor", "bob"])).out).toMatch(/pin\s+current\s+k1 -> k1 {2}by admin:bob: quarter close/);
    expect((await model(["list"])).out).toMatch(/^ranker-gbdt .* current \(by admin:bob: quarter close\)$/m);
    expect((await model(["alias", "ranker-gbdt", "challenger", "k2", "--reason", "shadow the new ranker"])).code).toBe(0);
    expect((await model(["unpin", "ranker-gbdt", "current", "--reason", "quarter closed"])).code).toBe(0);
    expect(fixture.admin.registry.aliases("ranker-gbdt")).toEqual({ current: "k1", candidate: "k2", challenger: "k2" });

    await reloads.close();
    const back = await model(["rollback", "fraud-gbdt", "--reason", "decline rate doubled"]);
    expect(back.code).toBe(3);
    expect(back.out).toMatch(new RegExp(`^reload ${reloads.url}: FAILED `, "m"));
    expect(back.err).toBe("moved, but 1 of 1 services did not reload; they keep their model until they do\n");
    expect(fixture.admin.registry.aliases("fraud-gbdt")).toEqual({ current: "f1", previous: "f2" });
  });

  it("runs from the repository root as `npm run model`", async () => {
    const { stdout } = await promisify(execFile)("npm", ["run", "-s", "model", "--", "history", "fraud-gbdt", "--json", "--url", url], { cwd: REPO, env: { ...process.env, MLSD_ADMIN_TOKEN: ADMIN } });
    const moves = (JSON.parse(stdout) as { moves: { by: string; action: string }[] }).moves;
    expect(moves.map((m) => m.action)).toEqual(["publish", "publish", "promote", "promote", "promote", "rollback", "rollback"]);
  }, 60_000);
});
