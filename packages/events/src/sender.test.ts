import { describe, expect, it } from "vitest";
import { describeRecordSenderContract } from "./sender.contract";
import { InMemoryRecordSender } from "./sender";

describeRecordSenderContract("in-memory twin", async () => {
  const sender = new InMemoryRecordSender();
  return {
    sender,
    topics: ["a.one.v1", "a.two.v1"],
    readBack: async (topic) => sender.delivered.filter((r) => r.topic === topic).map((r) => ({ ...r, partition: 0 })),
    close: () => sender.disconnect(),
  };
});

describe("InMemoryRecordSender", () => {
  it("fails sends while down and holds them until released", async () => {
    const sender = new InMemoryRecordSender();
    const record = { topic: "t", key: "k", value: Buffer.from("{}") };
    sender.setState("down");
    await expect(sender.send([record])).rejects.toThrow(/unavailable/);
    sender.setState("hold");
    const held = sender.send([record, record]);
    expect(sender.heldSends).toBe(1);
    sender.release("deliver");
    await held;
    expect(sender.delivered).toHaveLength(2);
    const failing = sender.send([record]);
    sender.release("fail");
    await expect(failing).rejects.toThrow(/unavailable/);
    expect(sender.sendCalls).toBe(3);
  });
});
