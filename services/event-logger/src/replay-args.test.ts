import { describe, expect, it } from "vitest";
import { parseReplayArgs, ReplayArgsError } from "./replay-args";

describe("parseReplayArgs", () => {
  it("parses the topic and the time range", () => {
    expect(parseReplayArgs(["--topic", "fraud.transactions.v1", "--from", "2024-04-01T00:00:00Z", "--to", "2024-04-01T01:00:00Z"])).toEqual({
      topic: "fraud.transactions.v1",
      fromMs: Date.UTC(2024, 3, 1, 0),
      toMs: Date.UTC(2024, 3, 1, 1),
    });
  });

  it("lists every problem, naming each flag", () => {
    let error: unknown;
    try {
      parseReplayArgs(["--from", "yesterday", "--to", "2024-04-01T00:00:00Z"]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ReplayArgsError);
    expect((error as Error).message).toMatch(/--topic: required; --from: must be an ISO time, got yesterday/);
    expect(() => parseReplayArgs(["--topic", "t", "--from", "2024-04-02T00:00:00Z", "--to", "2024-04-01T00:00:00Z"])).toThrow(/--to: must be after --from/);
  });
});
