import { runHostileSuite } from "@mlsd/service-kit/testing";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, LABEL_TOKEN, setup, T0 } from "./test-fixtures";

describe("hostile input on every fraud route", () => {
  it("answers every wrong request with a 4xx naming the field, never a 5xx, never a hang", async () => {
    const { app } = setup();
    const route = (method: string, path: string) => app.routes.find((r) => r.method === method && r.path === path)!;
    const { answers, problems } = await runHostileSuite(app, [
      { route: route("POST", "/v1/transactions/score"), validBody: { transactionId: "tx-1", customerId: "C1", terminalId: "T1", amount: 42.5, time: T0 } },
      { route: route("POST", "/v1/labels"), validBody: { transactionId: "tx-1", customerId: "C1", terminalId: "T1", label: "chargeback", transactionTime: T0 }, headers: { authorization: `Bearer ${LABEL_TOKEN}` } },
      { route: route("POST", "/v1/model/reload"), headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
      { route: route("GET", "/v1/model") },
      { route: route("GET", "/readyz") },
      { route: route("GET", "/openapi.json") },
    ]);
    expect(problems).toEqual([]);
    expect(answers.length).toBeGreaterThan(300);
  });
});
