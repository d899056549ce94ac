import { AssignerProtocol, type Admin } from "kafkajs";

export interface GroupMember {
  memberId: string;
  clientId: string;
  /** `topic -> partitions` this member consumes now. */
  assignment: Record<string, number[]>;
}

export interface GroupState {
  /** The group coordinator's state: `Stable` once a rebalance has finished. */
  state: string;
  members: GroupMember[];
}

/**
 * Who in a consumer group consumes which partitions, as its coordinator says now: how a test or an
 * operator sees a rebalance (members joining, a dead member's partitions moving to the others).
 */
export async function describeGroup(admin: Admin, groupId: string): Promise<GroupState> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups[0];
  if (!group) throw new Error(`the coordinator did not describe group ${groupId}`);
  return {
    state: group.state,
    members: group.members.map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      // An empty assignment (a member mid-rebalance) decodes to null.
      assignment: (m.memberAssignment.length > 0 ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment : null) ?? {},
    })),
  };
}

/** Partitions a member consumes, across its topics. */
export function assignedPartitions(member: GroupMember): number {
  return Object.values(member.assignment).reduce((n, partitions) => n + partitions.length, 0);
}

/** The group has settled with `members` members, each consuming at least one partition. */
export function spreadOver(group: GroupState | null, members: number): group is GroupState {
  return group?.state === "Stable" && group.members.length === members && group.members.every((m) => assignedPartitions(m) > 0);
}
