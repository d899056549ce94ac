import { describe, expect, it } from "vitest";
import { nodeExitedWhileStarting, parseClusterNodes } from "./clusters";
import { TestkitError } from "./errors";

describe("CLUSTER NODES", () => {
  // As redis-server 7.0 prints it after a failover: 30001 failed, 30004 promoted in its place.
  const text = [
    "a1 127.0.0.1:30001@40001 master,fail - 0 0 1 disconnected",
    "a2 127.0.0.1:30002@40002 myself,master - 0 0 2 connected 5461-10922",
    "a3 127.0.0.1:30003@40003 master - 0 0 3 connected 10923-16383",
    "a4 127.0.0.1:30004@40004 master - 0 0 7 connected 0-5460",
    "a5 127.0.0.1:30005@40005 slave a2 0 0 2 connected",
    "a6 127.0.0.1:30006@40006 slave a3 0 0 3 connected",
    "",
  ].join("\n");

  it("reads roles, each replica's primary, slot counts and failures", () => {
    const nodes = parseClusterNodes(text);
    expect(nodes.map((n) => [n.port, n.role, n.primaryPort, n.slots, n.failed])).toEqual([
      [30001, "primary", null, 0, true],
      [30002, "primary", null, 5462, false],
      [30003, "primary", null, 5461, false],
      [30004, "primary", null, 5461, false],
      [30005, "replica", 30002, 0, false],
      [30006, "replica", 30003, 0, false],
    ]);
    expect(nodes.reduce((s, n) => s + n.slots, 0)).toBe(16_384);
  });

  it("tells a suspected node (`fail?`, one node's view) from a failed one (`fail`, the cluster's)", () => {
    const [suspected, failed] = parseClusterNodes("c1 127.0.0.1:1@2 master,fail? - 0 0 1 connected 0-9\nc2 127.0.0.1:3@4 master,fail - 0 0 1 disconnected\n");
    expect([suspected?.suspected, suspected?.failed, suspected?.slots]).toEqual([true, false, 10]);
    expect([failed?.suspected, failed?.failed]).toEqual([false, true]);
  });

  it("counts single slots and skips slots being migrated", () => {
    const [node] = parseClusterNodes("b1 127.0.0.1:1@2 myself,master - 0 0 1 connected 0-9 17 [18->-b2]\n");
    expect(node?.slots).toBe(11);
  });
});

describe("nodeExitedWhileStarting", () => {
  it("retries only a node process that exited before the cluster answered", () => {
    const exited = new TestkitError("START_FAILED", 'kafka broker on 127.0.0.1:43792 failed to start: exited ({"code":1,"signal":null}). Its first errors: ...');
    const neverFormed = new TestkitError("START_FAILED", "the Kafka cluster to list 3 brokers did not happen within 120000 ms");
    expect(nodeExitedWhileStarting(exited)).toBe(true);
    expect(nodeExitedWhileStarting(neverFormed)).toBe(false);
    expect(nodeExitedWhileStarting(new TestkitError("MISSING_DEPENDENCY", "kafka broker failed to start: exited ("))).toBe(false);
    expect(nodeExitedWhileStarting(new Error('kafka broker failed to start: exited ({"code":1})'))).toBe(false);
  });
});
