import { unitHash } from "@mlsd/random";

/**
 * A number in [0, 1) fixed by the entity and the experiment's salt: the same user (or card) always
 * lands on the same side of a split, and a new experiment (a new salt) reshuffles who is exposed,
 * so one unlucky group does not see every challenger. The hash is @mlsd/random's unitHash.
 */
export function stableUnit(entityId: string, salt: string): number {
  return unitHash(`${salt}\u0000${entityId}`);
}
