import { DeadLetterRecordSchema, EXAMPLE_PAYLOADS, makeEvent } from "@mlsd/contracts";
import { describe, expect, it } from "vitest";
import { decodeMessages } from "./dead-letter";
import type { RawMessage } from "./dead-letter";

const valid = makeEvent("recs.click", EXAMPLE_PAYLOADS["recs.click"], { producer: "test" });

function message(offset: number, value: Buffer | null, key: string | null = "u-42"): RawMessage {
  return { key: key === null ? null : Buffer.from(key), value, offset: String(offset), timestamp: "1711929600000" };
}

describe("decodeMessages", () => {
  const now = new Date("2024-04-02T00:00:00.000Z");
  const source = { topic: "recs.clicks.v1", partition: 2 };

  it("passes valid events through with their source position", () => {
    const { events, deadLetters } = decodeMessages(source, [message(7, Buffer.from(JSON.stringify(valid)))], "logger", now);
    expect(deadLetters).toEqual([]);
    expect(events).toEqual([{ event: valid, topic: "recs.clicks.v1", partition: 2, offset: "7", timestamp: "1711929600000" }]);
  });

  it("turns each kind of bad message into a dead-letter record that names the reason and keeps the original", () => {
    const badPayload = { ...valid, payload: { ...valid.payload, position: -1 } };
    const messages = [
      message(10, Buffer.from(JSON.stringify(valid))),
      message(11, Buffer.from("{oops")),
      message(12, Buffer.from(JSON.stringify(badPayload))),
      message(13, Buffer.from([0xff, 0x00, 0xfe])),
      message(14, null, null),
      message(15, Buffer.from(JSON.stringify({ ...valid, type: "recs.like" }))),
      message(16, Buffer.from(JSON.stringify(valid))),
    ];
    const { events, deadLetters } = decodeMessages(source, messages, "logger", now);
    expect(events.map((e) => e.offset)).toEqual(["10", "16"]);
    expect(deadLetters.map((d) => [d.source.offset, d.reason])).toEqual([
      ["11", "invalid_json"],
      ["12", "invalid_payload"],
      ["13", "invalid_json"],
      ["14", "invalid_json"],
      ["15", "unknown_type"],
    ]);
    for (const record of deadLetters) expect(DeadLetterRecordSchema.parse(record)).toEqual(record);
    const [json, payload, binary, empty] = deadLetters;
    expect(json).toMatchObject({
      originalValue: "{oops",
      originalEncoding: "utf8",
      consumerGroup: "logger",
      failedAt: "2024-04-02T00:00:00.000Z",
      source: { topic: "recs.clicks.v1", partition: 2, offset: "11", key: "u-42", timestamp: "1711929600000" },
    });
    expect(payload?.issues).toEqual([{ path: "payload.position", message: "Number must be greater than or equal to 0" }]);
    expect(binary).toMatchObject({ originalValue: Buffer.from([0xff, 0x00, 0xfe]).toString("base64"), originalEncoding: "base64" });
    expect(empty).toMatchObject({ originalValue: null, message: "message has no value", source: { key: null } });
  });
});
