import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { firstErrorLines, tailFile } from "./log-tail";

const dirs: string[] = [];
function logWith(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "log-tail-"));
  dirs.push(dir);
  const path = join(dir, "broker.log");
  writeFileSync(path, text);
  return path;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("firstErrorLines", () => {
  // The shape of a Kafka broker that fails at start: the cause once, then many shutdown lines.
  const brokerLog = [
    "[2026-12-06 11:34:17,101] INFO Starting controller (kafka.server.ControllerServer)",
    "[2026-12-06 11:34:17,900] ERROR [KafkaRaftServer nodeId=1] Fatal error during broker startup. Prepare to shutdown (kafka.server.BrokerServer)",
    "org.apache.kafka.common.KafkaException: Socket server failed to bind to 127.0.0.1:43792: Address already in use.",
    "\tat kafka.network.Acceptor.openServerSocket(SocketServer.scala:734)",
    "\tat kafka.network.Acceptor.<init>(SocketServer.scala:611)",
    "\tat kafka.network.DataPlaneAcceptor.<init>(SocketServer.scala:455)",
    ...Array.from({ length: 40 }, (_, i) => `[2026-12-06 11:34:18,4${String(i).padStart(2, "0")}] INFO shutting down part ${i} (kafka.server.X)`),
    "",
  ].join("\n");

  it("finds the cause the tail hides: the ERROR line and the exception after it", () => {
    const path = logWith(brokerLog);
    expect(tailFile(path)).not.toContain("Address already in use");
    const errors = firstErrorLines(path).split("\n");
    expect(errors[0]).toContain("ERROR [KafkaRaftServer nodeId=1] Fatal error during broker startup");
    expect(errors[1]).toContain("Address already in use");
    // At most three lines after each error line, and no INFO lines.
    expect(errors).toHaveLength(4);
    expect(errors.some((l) => l.includes(" INFO "))).toBe(false);
  });

  it("stops at `max` lines, and says so when the log has no errors or is missing", () => {
    const many = logWith(Array.from({ length: 30 }, (_, i) => `[2026-12-06 00:00:00,000] ERROR failure ${i}`).join("\n"));
    expect(firstErrorLines(many, 5).split("\n")).toEqual([0, 1, 2, 3, 4].map((i) => `[2026-12-06 00:00:00,000] ERROR failure ${i}`));
    expect(firstErrorLines(logWith("[2026-12-06 00:00:00,000] INFO fine\n"))).toBe("(no ERROR or FATAL lines)");
    expect(firstErrorLines("/nonexistent/broker.log")).toBe("(no log at /nonexistent/broker.log)");
  });
});
