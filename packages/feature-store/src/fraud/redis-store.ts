import type { Redis } from "ioredis";
import { DAY_MS, DEFAULT_FRAUD_FEATURE_CONFIG, retentionMs, toCents, type FraudAggregates, type FraudFeatureConfig, type LabelInput, type TransactionInput } from "./definitions";
import type { FraudFeatureStore, LabelByIdInput } from "./store";

/*
 * Each entity's events live in a sorted set scored by event time; a Lua script adds the new event
 * and counts the windows in one atomic step. Keys carry a hash tag per entity so the layout works
 * unchanged on Redis Cluster (one script never touches two entities).
 * Amounts are kept in integer cents so sums are exact and identical to the in-memory twin.
 */

// KEYS[1] customer zset. ARGV: time, member, retention, nWindows, windows..., nVelocity, velocity...
const CUSTOMER_SCRIPT = `
local t = tonumber(ARGV[1])
redis.call('ZADD', KEYS[1], t, ARGV[2])
local retention = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (t - retention))
redis.call('PEXPIRE', KEYS[1], retention)
local nw = tonumber(ARGV[4])
local nv = tonumber(ARGV[5 + nw])
local longest = 0
for i = 1, nw do longest = math.max(longest, tonumber(ARGV[4 + i])) end
for i = 1, nv do longest = math.max(longest, tonumber(ARGV[5 + nw + i])) end
local rows = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (t - longest), t, 'WITHSCORES')
local counts, sums, velocity = {}, {}, {}
for i = 1, nw do counts[i] = 0; sums[i] = 0 end
for i = 1, nv do velocity[i] = 0 end
for r = 1, #rows, 2 do
  local member = rows[r]
  local time = tonumber(rows[r + 1])
  local cents = tonumber(string.match(member, ':(-?%d+)$'))
  for i = 1, nw do
    if time > t - tonumber(ARGV[4 + i]) then counts[i] = counts[i] + 1; sums[i] = sums[i] + cents end
  end
  for i = 1, nv do
    if time > t - tonumber(ARGV[5 + nw + i]) then velocity[i] = velocity[i] + 1 end
  end
end
local out = {}
for i = 1, nw do out[#out + 1] = counts[i] end
for i = 1, nw do out[#out + 1] = sums[i] end
for i = 1, nv do out[#out + 1] = velocity[i] end
return out
`;

// KEYS[1] terminal tx zset, KEYS[2] terminal fraud zset.
// ARGV: time, txId, retention, delay, nWindows, windows..., nVelocity, velocity...
const TERMINAL_SCRIPT = `
local t = tonumber(ARGV[1])
redis.call('ZADD', KEYS[1], t, ARGV[2])
local retention = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (t - retention))
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (t - retention))
redis.call('PEXPIRE', KEYS[1], retention)
local delayed = t - tonumber(ARGV[4])
local nw = tonumber(ARGV[5])
local nv = tonumber(ARGV[6 + nw])
local out = {}
for i = 1, nw do
  out[#out + 1] = redis.call('ZCOUNT', KEYS[1], '(' .. (delayed - tonumber(ARGV[5 + i])), delayed)
end
for i = 1, nw do
  out[#out + 1] = redis.call('ZCOUNT', KEYS[2], '(' .. (delayed - tonumber(ARGV[5 + i])), delayed)
end
for i = 1, nv do
  out[#out + 1] = redis.call('ZCOUNT', KEYS[1], '(' .. (t - tonumber(ARGV[6 + nw + i])), t)
end
return out
`;

// KEYS[1] terminal fraud zset. ARGV: transaction time, txId, retention.
const LABEL_SCRIPT = `
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
`;

type ScriptRedis = Redis & {
  fraudCustomer(key: string, ...args: (string | number)[]): Promise<number[]>;
  fraudTerminal(k1: string, k2: string, ...args: (string | number)[]): Promise<number[]>;
  fraudLabel(key: string, ...args: (string | number)[]): Promise<number>;
};

export const fraudKeys = {
  customer: (prefix: string, id: string) => `${prefix}{c:${id}}:tx`,
  terminal: (prefix: string, id: string) => `${prefix}{t:${id}}:tx`,
  terminalFrauds: (prefix: string, id: string) => `${prefix}{t:${id}}:fraud`,
  locator: (prefix: string, txId: string) => `${prefix}{x:${txId}}:loc`,
};

export class RedisFraudFeatureStore implements FraudFeatureStore {
  private readonly redis: ScriptRedis;
  private readonly retention: number;

  constructor(
    redis: Redis,
    readonly config: FraudFeatureConfig = DEFAULT_FRAUD_FEATURE_CONFIG,
    /** Key namespace, so tests and several worlds can share one Redis. */
    private readonly prefix = "fx:",
  ) {
    this.redis = redis as ScriptRedis;
    this.retention = retentionMs(config);
    if (!("fraudCustomer" in redis)) {
      redis.defineCommand("fraudCustomer", { numberOfKeys: 1, lua: CUSTOMER_SCRIPT });
      redis.defineCommand("fraudTerminal", { numberOfKeys: 2, lua: TERMINAL_SCRIPT });
      redis.defineCommand("fraudLabel", { numberOfKeys: 1, lua: LABEL_SCRIPT });
    }
  }

  async observe(tx: TransactionInput): Promise<FraudAggregates> {
    const { windowDays, velocityWindowsMs, labelDelayDays } = this.config;
    const windowsMs = windowDays.map((d) => d * DAY_MS);
    const p = this.prefix;
    // One round trip: both entity scripts and the locator that lets a label find its terminal.
    const pipeline = this.redis.pipeline() as unknown as ScriptRedis & { exec(): Promise<[Error | null, unknown][] | null> };
    pipeline.fraudCustomer(
      fraudKeys.customer(p, tx.customerId),
      tx.timeMs,
      `${tx.transactionId}:${toCents(tx.amount)}`,
      this.retention,
      windowsMs.length,
      ...windowsMs,
      velocityWindowsMs.length,
      ...velocityWindowsMs,
    );
    pipeline.fraudTerminal(
      fraudKeys.terminal(p, tx.terminalId),
      fraudKeys.terminalFrauds(p, tx.terminalId),
      tx.timeMs,
      tx.transactionId,
      this.retention,
      labelDelayDays * DAY_MS,
      windowsMs.length,
      ...windowsMs,
      velocityWindowsMs.length,
      ...velocityWindowsMs,
    );
    pipeline.set(fraudKeys.locator(p, tx.transactionId), `${tx.terminalId}|${tx.timeMs}`, "PX", this.retention);
    const results = await pipeline.exec();
    if (!results) throw new Error("redis pipeline returned no results");
    for (const [error] of results) if (error) throw error;
    const customer = results[0]?.[1] as number[];
    const terminal = results[1]?.[1] as number[];
    const nw = windowsMs.length;
    return {
      customerCount: customer.slice(0, nw),
      customerCents: customer.slice(nw, 2 * nw),
      customerVelocity: customer.slice(2 * nw),
      terminalCount: terminal.slice(0, nw),
      terminalFrauds: terminal.slice(nw, 2 * nw),
      terminalVelocity: terminal.slice(2 * nw),
    };
  }

  async applyLabel(label: LabelByIdInput): Promise<boolean> {
    const locator = await this.redis.get(fraudKeys.locator(this.prefix, label.transactionId));
    if (!locator) return false;
    const bar = locator.lastIndexOf("|");
    await this.applyKnownLabel({
      transactionId: label.transactionId,
      knownAtMs: label.knownAtMs,
      terminalId: locator.slice(0, bar),
      transactionTimeMs: Number(locator.slice(bar + 1)),
    });
    return true;
  }

  async applyKnownLabel(label: LabelInput): Promise<void> {
    await this.redis.fraudLabel(
      fraudKeys.terminalFrauds(this.prefix, label.terminalId),
      label.transactionTimeMs,
      label.transactionId,
      this.retention,
    );
  }
}
