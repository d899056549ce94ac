import { AliasTable, Rng } from "@mlsd/random";

/**
 * A seeded recommendation world with known ground truth. Users and items carry latent taste
 * vectors clustered around category centroids, so a model can learn them; the probability that a
 * user clicks an item once they have looked at it (its true relevance) is a logistic function of
 * their affinity and the item's quality. Everything lives in typed arrays (no object per entity),
 * so the benchmark preset (100k users, 1M items) fits in about 100 MB.
 *
 * Time is in days from the start of the simulated period [0, days); negative times are before it.
 */
export interface RecWorldOptions {
  seed: number;
  numUsers: number;
  numItems: number;
  /** Latent dimension of the taste vectors. */
  dim: number;
  numCategories: number;
  numTags: number;
  tagsPerItem: number;
  /** Exponent s of the Zipf popularity weights 1 / rank^s. */
  zipfExponent: number;
  /** Length of the simulated period in days. */
  days: number;
  /** Day at which training data ends; items released after it are cold. */
  trainCutoffDay: number;
  /** Share of the catalogue released before day 0; the rest arrives uniformly during the period. */
  preexistingItemShare: number;
  /** Share of users signed up before day 0; the rest sign up uniformly during the period. */
  preexistingUserShare: number;
  /** Spread of an item's taste vector around its category centroid (0 = on it, 1 = unrelated). */
  itemTasteNoise: number;
  userTasteNoise: number;
  /** Logit of true relevance: relevanceBias + affinityWeight * <user, item> + qualityWeight * quality. */
  relevanceBias: number;
  affinityWeight: number;
  qualityWeight: number;
}

export type RecWorldPreset = "small" | "demo" | "benchmark";

const DEFAULTS: Omit<RecWorldOptions, "numUsers" | "numItems"> = {
  seed: 1,
  dim: 16,
  numCategories: 20,
  numTags: 60,
  tagsPerItem: 3,
  zipfExponent: 1.0,
  days: 30,
  trainCutoffDay: 24,
  preexistingItemShare: 0.7,
  preexistingUserShare: 0.8,
  itemTasteNoise: 0.6,
  userTasteNoise: 0.6,
  relevanceBias: -3.2,
  affinityWeight: 3.5,
  qualityWeight: 0.5,
};

export const REC_WORLD_PRESETS: Readonly<Record<RecWorldPreset, Readonly<Pick<RecWorldOptions, "numUsers" | "numItems">>>> =
  Object.freeze({
    small: Object.freeze({ numUsers: 2_000, numItems: 5_000 }),
    demo: Object.freeze({ numUsers: 20_000, numItems: 50_000 }),
    benchmark: Object.freeze({ numUsers: 100_000, numItems: 1_000_000 }),
  });

/** Demographic-like categorical user features and their number of levels. */
export const USER_FEATURE_LEVELS = Object.freeze({ ageBucket: 6, region: 8, device: 3 });

export class RecWorldOptionsError extends RangeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "RecWorldOptionsError";
  }
}

export interface RecWorldInput extends Partial<RecWorldOptions> {
  preset?: RecWorldPreset;
}

export function resolveRecWorldOptions(input: RecWorldInput = {}): RecWorldOptions {
  const { preset, ...overrides } = input;
  if (preset !== undefined && !(preset in REC_WORLD_PRESETS)) {
    throw new RecWorldOptionsError("preset", `unknown preset '${preset}' (known: ${Object.keys(REC_WORLD_PRESETS).join(", ")})`);
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const o: RecWorldOptions = { ...DEFAULTS, ...REC_WORLD_PRESETS[preset ?? "small"], ...defined };
  const int = (field: keyof RecWorldOptions, min: number, max = Number.MAX_SAFE_INTEGER): void => {
    const v = o[field];
    if (!Number.isInteger(v) || v < min || v > max) throw new RecWorldOptionsError(field, `must be an integer in [${min}, ${max}], got ${v}`);
  };
  const real = (field: keyof RecWorldOptions, lo: number, hi: number): void => {
    const v = o[field];
    if (!Number.isFinite(v) || v < lo || v > hi) throw new RecWorldOptionsError(field, `must be in [${lo}, ${hi}], got ${v}`);
  };
  int("seed", 0, 0xffffffff);
  int("numUsers", 1, 50_000_000);
  int("numItems", 1, 50_000_000);
  int("dim", 1, 1024);
  int("numCategories", 1, 65_535);
  int("numTags", 1, 65_535);
  int("tagsPerItem", 0, 64);
  real("zipfExponent", 0, 5);
  real("days", 1e-6, 36_500);
  real("trainCutoffDay", 0, o.days);
  real("preexistingItemShare", 0, 1);
  real("preexistingUserShare", 0, 1);
  real("itemTasteNoise", 0, 1);
  real("userTasteNoise", 0, 1);
  real("relevanceBias", -50, 50);
  real("affinityWeight", -50, 50);
  real("qualityWeight", -50, 50);
  if (o.tagsPerItem > o.numTags) throw new RecWorldOptionsError("tagsPerItem", `${o.tagsPerItem} exceeds numTags ${o.numTags}`);
  return Object.freeze(o);
}

export interface RecItems {
  /** numItems x dim, row-major. */
  readonly factors: Float32Array;
  readonly category: Uint16Array;
  /** numItems x tagsPerItem, row-major, distinct within an item. */
  readonly tags: Uint16Array;
  /** Standard normal; raises true relevance for everyone and, noisily, popularity. */
  readonly quality: Float32Array;
  readonly releaseDay: Float32Array;
  /** 0 for the most popular item. */
  readonly popularityRank: Uint32Array;
  /** 1 / (rank + 1)^zipfExponent. */
  readonly popularity: Float32Array;
}

export interface RecUsers {
  /** numUsers x dim, row-major. */
  readonly factors: Float32Array;
  /** Relative activity (lognormal, mean 1): multiplies the number of sessions. */
  readonly activity: Float32Array;
  readonly homeCategory: Uint16Array;
  readonly signupDay: Float32Array;
  readonly ageBucket: Uint8Array;
  readonly region: Uint8Array;
  readonly device: Uint8Array;
}

export class RecWorld {
  private popularityTable: AliasTable | undefined;

  constructor(
    readonly options: RecWorldOptions,
    /** numCategories x dim, unit vectors. */
    readonly categoryCentroids: Float32Array,
    readonly items: RecItems,
    readonly users: RecUsers,
  ) {}

  get numUsers(): number {
    return this.options.numUsers;
  }

  get numItems(): number {
    return this.options.numItems;
  }

  /** Probability that `user` clicks `item` once the item has been examined. */
  trueRelevance(user: number, item: number): number {
    this.checkUser(user);
    this.checkItem(item);
    return this.relevanceUnchecked(user, item);
  }

  /** The same without bounds checks, for simulation loops. */
  relevanceUnchecked(user: number, item: number): number {
    const d = this.options.dim;
    const uf = this.users.factors;
    const itf = this.items.factors;
    const uo = user * d;
    const io = item * d;
    let dot = 0;
    for (let k = 0; k < d; k++) dot += (uf[uo + k] as number) * (itf[io + k] as number);
    const o = this.options;
    const logit = o.relevanceBias + o.affinityWeight * dot + o.qualityWeight * (this.items.quality[item] as number);
    return 1 / (1 + Math.exp(-logit));
  }

  isReleased(item: number, day: number): boolean {
    return (this.items.releaseDay[item] as number) <= day;
  }

  /** Released after the training cut-off: no interaction of it can be in training data. */
  isCold(item: number): boolean {
    return (this.items.releaseDay[item] as number) > this.options.trainCutoffDay;
  }

  /** Draws an item with probability proportional to its Zipf weight (built on first use). */
  samplePopularItem(rng: Rng): number {
    this.popularityTable ??= new AliasTable(this.items.popularity);
    return this.popularityTable.sample(rng);
  }

  private checkUser(user: number): void {
    if (!Number.isInteger(user) || user < 0 || user >= this.numUsers) {
      throw new RecWorldOptionsError("user", `${user} is outside [0, ${this.numUsers})`);
    }
  }

  private checkItem(item: number): void {
    if (!Number.isInteger(item) || item < 0 || item >= this.numItems) {
      throw new RecWorldOptionsError("item", `${item} is outside [0, ${this.numItems})`);
    }
  }
}

/** How many tags of each category's own pool an item draws from (the rest are uniform). */
const TAG_POOL_SIZE = 5;
const TAG_FROM_POOL = 0.7;
/** Category sizes fall off as 1 / (k + 1)^0.7: a few big genres and a long tail. */
const CATEGORY_SIZE_EXPONENT = 0.7;
/** How strongly the age bucket tilts the choice of home category (log-odds). */
const AGE_TILT = 0.8;

/**
 * Builds the world in one pass over typed arrays. Items, users and centroids draw from separate
 * forks of the seed, so changing the number of users leaves the items unchanged and vice versa.
 */
export function createRecWorld(input: RecWorldInput = {}): RecWorld {
  const o = resolveRecWorldOptions(input);
  const root = new Rng(o.seed);
  const centroidRng = root.fork();
  const itemRng = root.fork();
  const userRng = root.fork();
  const { centroids, tagPools, ageTilt, categoryWeights, categoryTable } = drawPriors(o, centroidRng);
  const items = createItems(o, itemRng, centroids, tagPools, categoryTable);
  const users = createUsers(o, userRng, centroids, categoryWeights, ageTilt);
  return new RecWorld(o, centroids, items, users);
}

/** What the whole world shares, drawn first from the seed: category centroids, tag pools, age tilts, category sizes. */
export interface RecWorldPriors {
  centroids: Float32Array;
  tagPools: Uint16Array;
  ageTilt: Float32Array;
  categoryWeights: Float64Array;
  categoryTable: AliasTable;
}

/** The priors of a world's seed, the same draws createRecWorld makes (for hooks that add to a world). */
export function recWorldPriors(o: RecWorldOptions): RecWorldPriors {
  return drawPriors(o, new Rng(o.seed).fork());
}

function drawPriors(o: RecWorldOptions, centroidRng: Rng): RecWorldPriors {
  const d = o.dim;
  const centroids = new Float32Array(o.numCategories * d);
  for (let c = 0; c < o.numCategories; c++) writeUnitGaussian(centroidRng, centroids, c * d, d);
  const tagPools = Uint16Array.from({ length: o.numCategories * TAG_POOL_SIZE }, () => centroidRng.int(o.numTags));
  const ageTilt = Float32Array.from({ length: USER_FEATURE_LEVELS.ageBucket * o.numCategories }, () =>
    centroidRng.uniform(-AGE_TILT, AGE_TILT),
  );
  const categoryWeights = Float64Array.from({ length: o.numCategories }, (_, k) => 1 / (k + 1) ** CATEGORY_SIZE_EXPONENT);
  return { centroids, tagPools, ageTilt, categoryWeights, categoryTable: new AliasTable(categoryWeights) };
}

/** `o.numItems` items drawn around the priors' centroids (popularity ranks count within them). */
export function createItems(
  o: RecWorldOptions,
  rng: Rng,
  centroids: Float32Array,
  tagPools: Uint16Array,
  categoryTable: AliasTable,
): RecItems {
  const n = o.numItems;
  const d = o.dim;
  const factors = new Float32Array(n * d);
  const category = new Uint16Array(n);
  const tags = new Uint16Array(n * o.tagsPerItem);
  const quality = new Float32Array(n);
  const releaseDay = new Float32Array(n);
  // Popularity follows quality noisily: good items tend to be popular, but not strictly.
  const popularityKey = new Float64Array(n);
  const chosen: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = categoryTable.sample(rng);
    category[i] = c;
    writeNoisyCentroid(rng, factors, i * d, centroids, c * d, d, o.itemTasteNoise);
    chosen.length = 0;
    while (chosen.length < o.tagsPerItem) {
      const t = rng.bernoulli(TAG_FROM_POOL) ? (tagPools[c * TAG_POOL_SIZE + rng.int(TAG_POOL_SIZE)] as number) : rng.int(o.numTags);
      if (!chosen.includes(t)) chosen.push(t);
    }
    for (let t = 0; t < chosen.length; t++) tags[i * o.tagsPerItem + t] = chosen[t] as number;
    const q = rng.normal();
    quality[i] = q;
    popularityKey[i] = q + rng.normal();
    releaseDay[i] = rng.bernoulli(o.preexistingItemShare) ? -rng.uniform(0, 365) : rng.uniform(0, o.days);
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (popularityKey[b] as number) - (popularityKey[a] as number) || a - b);
  const popularityRank = new Uint32Array(n);
  const popularity = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    const i = order[r] as number;
    popularityRank[i] = r;
    popularity[i] = 1 / (r + 1) ** o.zipfExponent;
  }
  return { factors, category, tags, quality, releaseDay, popularityRank, popularity };
}

function createUsers(
  o: RecWorldOptions,
  rng: Rng,
  centroids: Float32Array,
  categoryWeights: Float64Array,
  ageTilt: Float32Array,
): RecUsers {
  const n = o.numUsers;
  const d = o.dim;
  const levels = USER_FEATURE_LEVELS;
  // Home category depends on the age bucket, so demographics carry signal for cold users.
  const homeTables = Array.from({ length: levels.ageBucket }, (_, a) =>
    new AliasTable(categoryWeights.map((w, k) => w * Math.exp(ageTilt[a * o.numCategories + k] as number))),
  );
  const ageTable = new AliasTable([0.08, 0.25, 0.27, 0.2, 0.12, 0.08]);
  const factors = new Float32Array(n * d);
  const activity = new Float32Array(n);
  const homeCategory = new Uint16Array(n);
  const signupDay = new Float32Array(n);
  const ageBucket = new Uint8Array(n);
  const region = new Uint8Array(n);
  const device = new Uint8Array(n);
  // Lognormal with sigma 1 and mean 1: a heavy tail of very active users.
  const sigma = 1;
  for (let u = 0; u < n; u++) {
    const age = ageTable.sample(rng);
    ageBucket[u] = age;
    region[u] = rng.int(levels.region);
    device[u] = rng.int(levels.device);
    const home = (homeTables[age] as AliasTable).sample(rng);
    homeCategory[u] = home;
    writeNoisyCentroid(rng, factors, u * d, centroids, home * d, d, o.userTasteNoise);
    activity[u] = Math.exp(sigma * rng.normal() - (sigma * sigma) / 2);
    signupDay[u] = rng.bernoulli(o.preexistingUserShare) ? -rng.uniform(0, 730) : rng.uniform(0, o.days);
  }
  return { factors, activity, homeCategory, signupDay, ageBucket, region, device };
}

function writeUnitGaussian(rng: Rng, out: Float32Array, offset: number, d: number): void {
  let norm = 0;
  for (let k = 0; k < d; k++) {
    const g = rng.normal();
    out[offset + k] = g;
    norm += g * g;
  }
  const inv = 1 / Math.sqrt(norm);
  for (let k = 0; k < d; k++) out[offset + k] = (out[offset + k] as number) * inv;
}

/** sqrt(1 - noise^2) * centroid + noise * g / sqrt(d): norm about 1, cosine to the centroid about sqrt(1 - noise^2). */
function writeNoisyCentroid(
  rng: Rng,
  out: Float32Array,
  offset: number,
  centroids: Float32Array,
  centroidOffset: number,
  d: number,
  noise: number,
): void {
  const keep = Math.sqrt(1 - noise * noise);
  const scale = noise / Math.sqrt(d);
  for (let k = 0; k < d; k++) out[offset + k] = keep * (centroids[centroidOffset + k] as number) + scale * rng.normal();
}
