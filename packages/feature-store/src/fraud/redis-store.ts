import type { ChainableCommander } from "ioredis";
import { NodePipelines, type RedisClient } from "../redis-client";
import { DAY_MS, DEFAULT_FRAUD_FEATURE_CONFIG, retentionMs, toCents, type FraudAggregates, type FraudFeatureConfig, type LabelInput, type TransactionInput } from "./definitions";
import type { ClaimResult, FraudFeatureStore, TransactionRecord } from "./store";

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

// KEYS[1] terminal tx zset, KEYS[2] terminal fraud zset (txId scored by transaction time),
// KEYS[3] terminal fraud hash (txId -> when its label became known).
// ARGV: time, txId, retention, delay, nWindows, windows..., nVelocity, velocity...
// A fraud counts only once its label is known by the decision time: a label that arrives early in
// the stream (a backfill, a replay) changes no earlier-dated decision.
const TERMINAL_SCRIPT = `
local t = tonumber(ARGV[1])
redis.call('ZADD', KEYS[1], t, ARGV[2])
local retention = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (t - retention))
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. (t - retention))
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (t - retention))
  redis.call('HDEL', KEYS[3], unpack(expired))
end
redis.call('PEXPIRE', KEYS[1], retention)
local delayed = t - tonumber(ARGV[4])
local nw = tonumber(ARGV[5])
local nv = tonumber(ARGV[6 + nw])
local out = {}
for i = 1, nw do
  out[#out + 1] = redis.call('ZCOUNT', KEYS[1], '(' .. (delayed - tonumber(ARGV[5 + i])), delayed)
end
local longest = 0
for i = 1, nw do longest = math.max(longest, tonumber(ARGV[5 + i])) end
local frauds = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. (delayed - longest), delayed, 'WITHSCORES')
local known = {}
for r = 1, #frauds, 2 do
  local k = tonumber(redis.call('HGET', KEYS[3], frauds[r]) or '0')
  if k <= t then known[#known + 1] = tonumber(frauds[r + 1]) end
end
for i = 1, nw do
  local from = delayed - tonumber(ARGV[5 + i])
  local c = 0
  for _, time in ipairs(known) do if time > from then c = c + 1 end end
  out[#out + 1] = c
end
for i = 1, nv do
  out[#out + 1] = redis.call('ZCOUNT', KEYS[1], '(' .. (t - tonumber(ARGV[6 + nw + i])), t)
end
return out
`;

// KEYS[1] terminal fraud zset, KEYS[2] terminal fraud hash. ARGV: transaction time, txId, knownAt, retention.
// Idempotent; a second label for the same transaction keeps the earlier time it became known.
const LABEL_SCRIPT = `
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]), ARGV[2])
local before = redis.call('HGET', KEYS[2], ARGV[2])
if not before or tonumber(before) > tonumber(ARGV[3]) then redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]))
return 1
`;

// KEYS[1] the transaction's record hash. ARGV: customer, terminal, time, cents, ttl.
// 0: recorded now; 1: the same transaction again (with its stored answer, if any); 2: another
// transaction under this id (with what was recorded).
const CLAIM_SCRIPT = `
local r = redis.call('HMGET', KEYS[1], 'c', 't', 'ms', 'cents', 'answer')
if not r[1] then
  redis.call('HSET', KEYS[1], 'c', ARGV[1], 't', ARGV[2], 'ms', ARGV[3], 'cents', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]))
  return {0}
end
if r[1] == ARGV[1] and r[2] == ARGV[2] and r[3] == ARGV[3] and r[4] == ARGV[4] then
  if r[5] then return {1, r[5]} end
  return {1}
end
return {2, r[1], r[2], r[3], r[4]}
`;

interface FraudScripts<R> {
  fraudClaim(key: string, ...args: (string | number)[]): R;
  fraudCustomer(key: string, ...args: (string | number)[]): R;
  fraudTerminal(k1: string, k2: string, k3: string, ...args: (string | number)[]): R;
  fraudLabel(k1: string, k2: string, ...args: (string | number)[]): R;
}
type ScriptRedis = RedisClient & FraudScripts<Promise<unknown>>;
interface ScriptPipeline extends ChainableCommander, FraudScripts<ScriptPipeline> {}

export const fraudKeys = {
  customer: (prefix: string, id: string) => `${prefix}{c:${id}}:tx`,
  terminal: (prefix: string, id: string) => `${prefix}{t:${id}}:tx`,
  terminalFrauds: (prefix: string, id: string) => `${prefix}{t:${id}}:fraud`,
  terminalFraudKnownAt: (prefix: string, id: string) => `${prefix}{t:${id}}:fraud-known`,
  /** The transaction's identity and answer: claims, retries and labels read it. */
  record: (prefix: string, txId: string) => `${prefix}{x:${txId}}:rec`,
};

export class RedisFraudFeatureStore implements FraudFeatureStore {
  private readonly redis: ScriptRedis;
  private readonly retention: number;
  /** Real milliseconds a key lives: the retention in event time, divided by how fast the clock runs. */
  private readonly ttl: number;

  constructor(
    redis: RedisClient,
    readonly config: FraudFeatureConfig = DEFAULT_FRAUD_FEATURE_CONFIG,
    /** Key namespace, so tests and several worlds can share one Redis. */
    private readonly prefix = "fx:",
    /** Event-time milliseconds per real millisecond (a simulated world runs faster than real time). */
    clockSpeed = 1,
  ) {
    this.redis = redis as ScriptRedis;
    this.retention = retentionMs(config);
    this.ttl = Math.max(60_000, Math.ceil(this.retention / clockSpeed));
    if (!("fraudClaim" in redis)) {
      redis.defineCommand("fraudClaim", { numberOfKeys: 1, lua: CLAIM_SCRIPT });
      redis.defineCommand("fraudCustomer", { numberOfKeys: 1, lua: CUSTOMER_SCRIPT });
      redis.defineCommand("fraudTerminal", { numberOfKeys: 3, lua: TERMINAL_SCRIPT });
      redis.defineCommand("fraudLabel", { numberOfKeys: 2, lua: LABEL_SCRIPT });
    }
  }

  async observe(tx: TransactionInput): Promise<FraudAggregates> {
    const { windowDays, velocityWindowsMs, labelDelayDays } = this.config;
    const windowsMs = windowDays.map((d) => d * DAY_MS);
    const p = this.prefix;
    // One round trip per node: both entity scripts (on a Cluster, the card and the terminal may live on two nodes).
    const batch = new NodePipelines(this.redis);
    const customerKey = fraudKeys.customer(p, tx.customerId);
    batch.add(customerKey, (pipeline) =>
      (pipeline as ScriptPipeline).fraudCustomer(
        customerKey,
        tx.timeMs,
        `${tx.transactionId}:${toCents(tx.amount)}`,
        this.retention,
        windowsMs.length,
        ...windowsMs,
        velocityWindowsMs.length,
        ...velocityWindowsMs,
      ),
    );
    const terminalKey = fraudKeys.terminal(p, tx.terminalId);
    batch.add(terminalKey, (pipeline) =>
      (pipeline as ScriptPipeline).fraudTerminal(
        terminalKey,
        fraudKeys.terminalFrauds(p, tx.terminalId),
        fraudKeys.terminalFraudKnownAt(p, tx.terminalId),
        tx.timeMs,
        tx.transactionId,
        this.retention,
        labelDelayDays * DAY_MS,
        windowsMs.length,
        ...windowsMs,
        velocityWindowsMs.length,
        ...velocityWindowsMs,
      ),
    );
    const results = await batch.exec();
    const customer = results[0] as number[];
    const terminal = results[1] as number[];
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

  async claim(transactionId: string, record: TransactionRecord): Promise<ClaimResult> {
    const reply = (await this.redis.fraudClaim(fraudKeys.record(this.prefix, transactionId), record.customerId, record.terminalId, record.timeMs, record.cents, this.ttl)) as (number | string)[];
    const kind = Number(reply[0]);
    if (kind === 0) return { kind: "new" };
    if (kind === 1) return { kind: "retry", answer: typeof reply[1] === "string" ? reply[1] : null };
    return { kind: "conflict", recorded: { customerId: String(reply[1]), terminalId: String(reply[2]), timeMs: Number(reply[3]), cents: Number(reply[4]) } };
  }

  async saveAnswer(transactionId: string, answer: string): Promise<void> {
    await this.redis.hset(fraudKeys.record(this.prefix, transactionId), "answer", answer);
  }

  async lookup(transactionId: string): Promise<TransactionRecord | null> {
    const [c, t, ms, cents] = await this.redis.hmget(fraudKeys.record(this.prefix, transactionId), "c", "t", "ms", "cents");
    if (c === null || c === undefined || t === null || t === undefined) return null;
    return { customerId: c, terminalId: t, timeMs: Number(ms), cents: Number(cents) };
  }

  async applyKnownLabel(label: LabelInput): Promise<void> {
    await this.redis.fraudLabel(
      fraudKeys.terminalFrauds(this.prefix, label.terminalId),
      fraudKeys.terminalFraudKnownAt(this.prefix, label.terminalId),
      label.transactionTimeMs,
      label.transactionId,
      label.knownAtMs,
      this.retention,
    );
  }
}
