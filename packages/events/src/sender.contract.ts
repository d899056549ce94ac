import { describe, expect, it } from "vitest";
import type { OutgoingRecord } from "./record";
import type { RecordSender } from "./sender";

/** A record as the harness reads it back: where it was stored, too. */
export interface StoredRecord extends OutgoingRecord {
  partition: number;
}

export interface SenderHarness {
  sender: RecordSender;
  /** Two topics the harness can read back. */
  topics: [string, string];
  /** Everything stored on `topic`, in storage order per partition, waiting until `count` records are there. */
  readBack(topic: string, count: number): Promise<StoredRecord[]>;
  close(): Promise<void>;
}

/** The behaviour every RecordSender must have; run against the in-memory twin and each Kafka client. */
export function describeRecordSenderContract(name: string, open: () => Promise<SenderHarness>): void {
  describe(`RecordSender contract: ${name}`, () => {
    it("stores every record of a multi-topic batch once, each key on one partition in array order", async () => {
      const harness = await open();
      try {
        const [a, b] = harness.topics;
        const records: OutgoingRecord[] = [];
        for (let i = 0; i < 60; i++) {
          records.push({ topic: i % 3 === 0 ? b : a, key: `k${i % 4}`, value: Buffer.from(JSON.stringify({ i })) });
        }
        await harness.sender.send(records.slice(0, 30));
        await harness.sender.send([]);
        await harness.sender.send(records.slice(30));
        for (const topic of [a, b]) {
          const expected = records.filter((r) => r.topic === topic);
          const stored = await harness.readBack(topic, expected.length);
          expect(stored).toHaveLength(expected.length);
          for (const key of ["k0", "k1", "k2", "k3"]) {
            const mine = stored.filter((r) => r.key === key);
            expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
            expect(mine.map((r) => r.value.toString())).toEqual(expected.filter((r) => r.key === key).map((r) => r.value.toString()));
          }
        }
      } finally {
        await harness.close();
      }
    });

    it("rejects a send it could not deliver and delivers the next one after it", async () => {
      const harness = await open();
      try {
        const [a] = harness.topics;
        const tooLarge: OutgoingRecord = { topic: a, key: "big", value: Buffer.alloc(2 * 1024 * 1024, 0x61) };
        await expect(harness.sender.send([tooLarge])).rejects.toThrow();
        const after: OutgoingRecord = { topic: a, key: "after", value: Buffer.from('{"after":true}') };
        await harness.sender.send([after]);
        const stored = await harness.readBack(a, 1);
        expect(stored.map((r) => [r.key, r.value.toString()])).toEqual([["after", '{"after":true}']]);
      } finally {
        await harness.close();
      }
    });
  });
}
