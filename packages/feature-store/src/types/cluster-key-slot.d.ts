// cluster-key-slot (an ioredis dependency) ships no types: the Redis Cluster slot of a key, hash tags honoured.
declare module "cluster-key-slot" {
  export default function calculateSlot(key: string | Buffer): number;
}
