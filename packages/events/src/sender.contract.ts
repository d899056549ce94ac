import { describe, expect, it } from "vitest";
import type { OutgoingRecord } from "./record";
import type { RecordSender } from "./sender";

export interface SenderHarness {
  sender: RecordSender;
  /** Two topics the harness can read back. */
  topics: [string, string];
  /** Everything stored on `topic`, in storage order per key, waiting until `count` records are there. */
  readBack(topic: string, count: number): Promise<OutgoingRecord[]>;
  close(): Promise<void>;
}

/** The behaviour every RecordSender must have; run against the in-memory twin and real Kafka. */
export function describeRecordSenderContract(name: string, open: () => Promise<SenderHarness>): void {
  describe(`RecordSender contract: ${name}`, () => {
    it("stores every record of a multi-topic batch, each key's records in array order", async () => {
      const harness = await open();
      try {
        const [a, b] = harness.topics;
        const records: OutgoingRecord[] = [];
        for (let i = 0; i < 60; i++) {
          records.push({ topic: i % 3 === 0 ? b : a, key: `k${i % 4}`, value: JSON.stringify({ i }) });
        }
        await harness.sender.send(records.slice(0, 30));
        await harness.sender.send([]);
        await harness.sender.send(records.slice(30));
        for (const topic of [a, b]) {
          const expected = records.filter((r) => r.topic === topic);
          const stored = await harness.readBack(topic, expected.length);
          expect(stored).toHaveLength(expected.length);
          for (const key of ["k0", "k1", "k2", "k3"]) {
            expect(stored.filter((r) => r.key === key).map((r) => r.value)).toEqual(
              expected.filter((r) => r.key === key).map((r) => r.value),
            );
          }
        }
      } finally {
        await harness.close();
      }
    });
  });
}
