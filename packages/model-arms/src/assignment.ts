/**
 * A number in [0, 1) fixed by the entity and the experiment's salt: the same user (or card) always
 * lands on the same side of a split, and a new experiment (a new salt) reshuffles who is exposed,
 * so one unlucky group does not see every challenger. FNV-1a over UTF-16 code units, then a
 * murmur3-style finaliser so nearby ids (u1, u2, ...) spread evenly.
 */
export function stableUnit(entityId: string, salt: string): number {
  let h = 0x811c9dc5;
  const text = `${salt}\u0000${entityId}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4_294_967_296;
}
