import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildService } from "@mlsd/service-kit";
import { runHostileSuite } from "@mlsd/service-kit/testing";
import { afterAll, describe, expect, it } from "vitest";
import { retrievalService } from "./service";
import { publishTinyRetrieval, tinyTrainingData, trainTinyModel } from "./test-fixtures";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "retrieval-hostile-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("hostile input on every retrieval route", () => {
  it("answers every wrong request with a 4xx naming the field, never a 5xx, never a hang", async () => {
    const data = tinyTrainingData();
    await publishTinyRetrieval(path.join(tmp, "registry"), await trainTinyModel(data), data, "v1");
    const { app } = await buildService(retrievalService, { PORT: "0", LOG_LEVEL: "silent", MODEL_REGISTRY_DIR: path.join(tmp, "registry"), ADMIN_TOKEN: "retrieval-admin-token-0123",
      // The suite runs client and service in one process: its own large requests would trip the lag shedder.
      MAX_EVENT_LOOP_LAG_MS: "0",
    });
    const route = (method: string, p: string) => app.routes.find((r) => r.method === method && r.path === p)!;
    const { problems } = await runHostileSuite(app, [
      { route: route("POST", "/v1/candidates"), validBody: { userId: "u1", k: 5, history: ["m2", "m6"], features: { cluster_hint: 1 }, excludeItemIds: ["m1"] } },
      { route: route("POST", "/v1/model/reload"), headers: { authorization: "Bearer retrieval-admin-token-0123" } },
      { route: route("GET", "/v1/model") },
    ]);
    expect(problems).toEqual([]);
  }, 120_000);
});
