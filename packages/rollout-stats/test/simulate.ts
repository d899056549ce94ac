/**
 * Monte Carlo of continuously monitored experiments, shared by the unit tests and `npm run sim`.
 * Every experiment is looked at after every batch, to the end of its horizon, by four rules:
 * the mSPRT (this package), the same mSPRT with the per-arm (Welch) variance only, the
 * fixed-horizon z-test checked at every look ("peeking"), and that z-test once at the horizon.
 */
import { sampleBinomial } from "@mlsd/drift";
import { Rng } from "@mlsd/random";
import { MeanStat, mixtureLogLikelihoodRatio, normalSurvival, ProportionStat, RatioStat, sequentialTest, twoProportionZTest, type Moments, type SequentialResult } from "../src/index";

export interface StreamSettings {
  experiments: number;
  /** Units added to each arm between looks... */
  batchPerArm: number;
  /** ...unless the treatment gets its own share (a canary: 50 against 950). */
  treatmentBatch?: number;
  looks: number;
  alpha: number;
  tau2: number;
  seed: number;
  minCount?: number;
}

export interface StreamOutcome {
  experiments: number;
  /** Experiments in which the mSPRT decided, in either direction, at some look. */
  msprtDecided: number;
  msprtBetter: number;
  msprtWorse: number;
  /** The mSPRT with Welch's variance s_t^2/n_t + s_c^2/n_c alone (what contrastVariance improves on). */
  welchBetter: number;
  welchWorse: number;
  /** Experiments in which a z-test at alpha rejected at some look (peeking). */
  peekingRejections: number;
  /** Experiments in which the z-test at the horizon only rejected. */
  horizonRejections: number;
  /** Experiments in which the confidence sequence excluded the true difference at some look. */
  coverageMisses: number;
  /** Per decided experiment, treatment units at the first decision. */
  decisionUnits: number[];
  /** Looks at which the always-valid p-value went up (must be 0). */
  monotoneViolations: number;
}

interface Arms {
  control: Moments;
  treatment: Moments;
  /** Adds one batch to both arms. */
  step(rng: Rng): void;
  /** Two-sided z-test p-value of the difference at the current counts. */
  zPValue(): number;
}

function run(settings: StreamSettings, trueDifference: number, makeArms: () => Arms): StreamOutcome {
  const root = new Rng(settings.seed);
  const minCount = settings.minCount ?? 100;
  const out: StreamOutcome = {
    experiments: settings.experiments,
    msprtDecided: 0,
    msprtBetter: 0,
    msprtWorse: 0,
    welchBetter: 0,
    welchWorse: 0,
    peekingRejections: 0,
    horizonRejections: 0,
    coverageMisses: 0,
    decisionUnits: [],
    monotoneViolations: 0,
  };
  for (let e = 0; e < settings.experiments; e++) {
    const rng = root.fork();
    const arms = makeArms();
    let previous: SequentialResult | null = null;
    let decidedAt = 0;
    let welch = 0;
    let peeked = false;
    let missed = false;
    let zp = 1;
    for (let look = 1; look <= settings.looks; look++) {
      arms.step(rng);
      const result: SequentialResult = sequentialTest({ control: arms.control, treatment: arms.treatment, alpha: settings.alpha, tau2: settings.tau2, minCount: settings.minCount, previous });
      if (previous && result.pValue > previous.pValue) out.monotoneViolations++;
      previous = result;
      if (result.decided && decidedAt === 0) {
        decidedAt = look;
        out.msprtDecided++;
        if (result.decided === "treatment-better") out.msprtBetter++;
        else out.msprtWorse++;
        out.decisionUnits.push(look * (settings.treatmentBatch ?? settings.batchPerArm));
      }
      const { control: c, treatment: t } = arms;
      if (welch === 0 && c.count >= minCount && t.count >= minCount) {
        const d = t.mean - c.mean;
        if (mixtureLogLikelihoodRatio(d, t.variance / t.count + c.variance / c.count, settings.tau2) >= Math.log(1 / settings.alpha)) welch = Math.sign(d);
      }
      if (!missed && result.ci && (trueDifference < result.ci[0] || trueDifference > result.ci[1])) missed = true;
      zp = arms.zPValue();
      if (zp < settings.alpha) peeked = true;
    }
    if (welch > 0) out.welchBetter++;
    if (welch < 0) out.welchWorse++;
    if (peeked) out.peekingRejections++;
    if (zp < settings.alpha) out.horizonRejections++;
    if (missed) out.coverageMisses++;
  }
  return out;
}

/** Bernoulli arms with rates pc and pt, drawn a batch at a time (exact binomial counts). */
export function simulateProportions(settings: StreamSettings & { pc: number; pt: number }): StreamOutcome {
  return run(settings, settings.pt - settings.pc, () => {
    const control = new ProportionStat();
    const treatment = new ProportionStat();
    return {
      control,
      treatment,
      step(rng) {
        const tb = settings.treatmentBatch ?? settings.batchPerArm;
        control.addCounts(sampleBinomial(rng, settings.batchPerArm, settings.pc), settings.batchPerArm);
        treatment.addCounts(sampleBinomial(rng, tb, settings.pt), tb);
      },
      zPValue: () => twoProportionZTest({ control, treatment }).pValue,
    };
  });
}

/** Per-unit values drawn one at a time from `draw` (mean shifted by `shift` in the treatment). */
export function simulateMeans(settings: StreamSettings & { draw: (rng: Rng) => number; shift: number }): StreamOutcome {
  return run(settings, settings.shift, () => {
    const control = new MeanStat();
    const treatment = new MeanStat();
    return {
      control,
      treatment,
      step(rng) {
        for (let i = 0; i < settings.batchPerArm; i++) control.observe(settings.draw(rng));
        for (let i = 0; i < (settings.treatmentBatch ?? settings.batchPerArm); i++) treatment.observe(settings.draw(rng) + settings.shift);
      },
      zPValue: () => welchZPValue(control, treatment),
    };
  });
}

function welchZPValue(control: Moments, treatment: Moments): number {
  const se = Math.sqrt(control.variance / control.count + treatment.variance / treatment.count);
  return se > 0 ? 2 * normalSurvival(Math.abs(treatment.mean - control.mean) / se) : 1;
}

export interface ClusteredSettings extends StreamSettings {
  /** A share of heavy clickers at heavyRate, the rest at lightRate; the treatment multiplies rates by 1 + lift. */
  heavyShare: number;
  heavyRate: number;
  lightRate: number;
  lift: number;
  /** Impressions per user: 1 + Poisson(extraImpressions). */
  extraImpressions: number;
  /** "impression": every impression an independent trial (ProportionStat); "user": RatioStat over users. */
  unit: "impression" | "user";
}

/**
 * Users assigned to arms, each with their own click rate and several impressions: the canary's
 * real situation. batchPerArm counts users. The same seed gives the same streams for both units.
 */
export function simulateClustered(settings: ClusteredSettings): StreamOutcome {
  // The true ratio is impression-weighted; impressions do not depend on the rate, so it is the mean rate.
  const mean = settings.heavyShare * settings.heavyRate + (1 - settings.heavyShare) * settings.lightRate;
  return run(settings, mean * settings.lift, () => {
    const perImpression = [new ProportionStat(), new ProportionStat()] as const;
    const perUser = [new RatioStat(), new RatioStat()] as const;
    const [control, treatment] = settings.unit === "user" ? perUser : perImpression;
    const addUsers = (rng: Rng, arm: 0 | 1, users: number, factor: number) => {
      for (let i = 0; i < users; i++) {
        const rate = Math.min(1, (rng.next() < settings.heavyShare ? settings.heavyRate : settings.lightRate) * factor);
        const impressions = 1 + rng.poisson(settings.extraImpressions);
        const clicks = sampleBinomial(rng, impressions, rate);
        perImpression[arm].addCounts(clicks, impressions);
        perUser[arm].observe(clicks, impressions);
      }
    };
    return {
      control,
      treatment,
      step(rng) {
        addUsers(rng, 0, settings.batchPerArm, 1);
        addUsers(rng, 1, settings.treatmentBatch ?? settings.batchPerArm, 1 + settings.lift);
      },
      zPValue: () => welchZPValue(control, treatment),
    };
  });
}

/** Per-unit variance a RatioStat shows on `users` simulated control users: what a previous period's data would say. */
export function clusteredPilotVariance(settings: Omit<ClusteredSettings, keyof StreamSettings | "unit" | "lift">, users: number, seed: number): number {
  const rng = new Rng(seed);
  const stat = new RatioStat();
  for (let i = 0; i < users; i++) {
    const rate = rng.next() < settings.heavyShare ? settings.heavyRate : settings.lightRate;
    const impressions = 1 + rng.poisson(settings.extraImpressions);
    stat.observe(sampleBinomial(rng, impressions, rate), impressions);
  }
  return stat.variance;
}

/**
 * Fraud-like expected cost per transaction: most transactions cost about 1 (a review or a small
 * loss), one in fifty costs about 100 (a missed fraud). Mean 2.98, sd about 14, very right-skewed:
 * the normal approximation has to earn its keep here.
 */
export function skewedCost(rng: Rng): number {
  return rng.next() < 0.02 ? rng.exponential(1 / 100) : rng.exponential(1);
}

/** Upper end of the one-sided 95 % range of Binomial(n, p) counts, as a rate (normal approximation). */
export function binomialUpper(n: number, p: number): number {
  return p + 1.645 * Math.sqrt((p * (1 - p)) / n);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
