import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXAMPLE_PAYLOADS, makeEvent, TOPICS } from "@mlsd/contracts";
import { OfflineStoreWriter } from "@mlsd/offline-store";
import { describe, expect, it } from "vitest";
import { loggedUntil } from "./logged-until";

describe("loggedUntil", () => {
  it("is the time of the newest label written (when it became known), null for a store without labels", async () => {
    const dir = await mkdtemp(join(tmpdir(), "logged-until-"));
    try {
      expect(await loggedUntil(dir, "fraud")).toBeNull();
      const writer = await OfflineStoreWriter.open({ root: dir });
      const label = (knownAt: string) => ({ topic: TOPICS.fraudLabels, event: makeEvent("fraud.label", { ...EXAMPLE_PAYLOADS["fraud.label"], transactionTime: "2024-02-20T00:00:00.000Z", knownAt }, { producer: "test", eventTime: knownAt }) });
      // Out of order within the newest hour, and an older hour before it.
      await writer.write([label("2024-03-01T09:59:00.000Z"), label("2024-03-01T10:40:00.000Z"), label("2024-03-01T10:10:00.000Z")]);
      await writer.close();
      expect(await loggedUntil(dir, "fraud")).toBe(Date.parse("2024-03-01T10:40:00.000Z"));
      expect(await loggedUntil(dir, "recs")).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
