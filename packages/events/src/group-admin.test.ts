import { AssignerProtocol, type Admin } from "kafkajs";
import { describe, expect, it } from "vitest";
import { assignedPartitions, describeGroup, spreadOver } from "./group-admin";

const encoded = (assignment: Record<string, number[]>) => AssignerProtocol.MemberAssignment.encode({ version: 0, assignment, userData: Buffer.alloc(0) });

/** An admin whose coordinator describes one group as given. */
function adminWith(state: string, members: { memberId: string; clientId: string; memberAssignment: Buffer }[]): Admin {
  return { describeGroups: async (ids: string[]) => ({ groups: ids.map((groupId) => ({ groupId, state, members, protocol: "RoundRobinAssigner", protocolType: "consumer", errorCode: 0 })) }) } as unknown as Admin;
}

describe("a consumer group as its coordinator describes it", () => {
  it("decodes each member's partitions, and calls it spread once it is stable with every member holding some", async () => {
    const group = await describeGroup(
      adminWith("Stable", [
        { memberId: "m1", clientId: "logger-a", memberAssignment: encoded({ "t.v1": [0, 2, 4], "u.v1": [1] }) },
        { memberId: "m2", clientId: "logger-b", memberAssignment: encoded({ "t.v1": [1, 3, 5] }) },
      ]),
      "g",
    );
    expect(group.members.map((m) => [m.clientId, assignedPartitions(m)])).toEqual([
      ["logger-a", 4],
      ["logger-b", 3],
    ]);
    expect(spreadOver(group, 2)).toBe(true);
    expect(spreadOver(group, 1)).toBe(false);
    expect(spreadOver(null, 2)).toBe(false);
  });

  it("is not spread while rebalancing or while a member holds nothing", async () => {
    const rebalancing = await describeGroup(adminWith("PreparingRebalance", [{ memberId: "m1", clientId: "a", memberAssignment: encoded({ t: [0] }) }]), "g");
    expect(spreadOver(rebalancing, 1)).toBe(false);
    const idle = await describeGroup(
      adminWith("Stable", [
        { memberId: "m1", clientId: "a", memberAssignment: encoded({ t: [0, 1] }) },
        { memberId: "m2", clientId: "b", memberAssignment: Buffer.alloc(0) },
      ]),
      "g",
    );
    expect(idle.members[1]?.assignment).toEqual({});
    expect(spreadOver(idle, 2)).toBe(false);
  });
});
