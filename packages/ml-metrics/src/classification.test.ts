import { describe, expect, it } from "vitest";
import {
  ClassificationInputError,
  averagePrecision,
  brierScore,
  cardPrecisionAtK,
  confusionAt,
  expectedCalibrationError,
  logLoss,
  maxF1Point,
  prCurve,
  precisionAtRecall,
  recallAtPrecision,
  reliabilityTable,
  rocAuc,
  rocCurve,
} from "./classification";

// A toy set with tied scores and a confidently wrong 1.0; reference numbers from scikit-learn 1.9.1.
const y = [0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0];
const s = [0.1, 0.9, 0.35, 0.35, 0.8, 0.35, 0.2, 0.65, 0.65, 0.05, 0.5, 0.4, 0.1, 0.7, 0.95, 0.3, 0.35, 0.0, 0.6, 1.0];

/** 2,000 rows, 9.1 % positive, 100 distinct scores: the same formula generated the sklearn numbers. */
function formulaSet(): { labels: Uint8Array; scores: Float64Array } {
  const labels = new Uint8Array(2000);
  const scores = new Float64Array(2000);
  for (let i = 0; i < 2000; i++) {
    labels[i] = (i * 37) % 11 === 0 ? 1 : 0;
    scores[i] = (Math.floor((((i * 7919) % 1000) * 7) / 100) + 30 * (labels[i] as number)) / 100;
  }
  return { labels, scores };
}

function errorOf(f: () => unknown): ClassificationInputError {
  try {
    f();
  } catch (e) {
    if (e instanceof ClassificationInputError) return e;
    throw e;
  }
  throw new Error("expected a ClassificationInputError");
}

describe("rocAuc", () => {
  it("matches scikit-learn with ties", () => {
    expect(rocAuc(y, s)).toBeCloseTo(0.7637362637362638, 14);
    const f = formulaSet();
    expect(rocAuc(f.labels, f.scores)).toBeCloseTo(0.8347160265477097, 14);
  });

  it("equals the pairwise probability with ties counted one half", () => {
    const f = formulaSet();
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < 2000; i++) {
      if (f.labels[i] !== 1) continue;
      for (let j = 0; j < 2000; j++) {
        if (f.labels[j] !== 0) continue;
        pairs++;
        const a = f.scores[i] as number;
        const b = f.scores[j] as number;
        wins += a > b ? 1 : a === b ? 0.5 : 0;
      }
    }
    expect(rocAuc(f.labels, f.scores)).toBeCloseTo(wins / pairs, 12);
  });

  it("is 1 for a perfect ranking, 0 for a reversed one and 0.5 for constant scores", () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])).toBe(1);
    expect(rocAuc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4])).toBe(0);
    expect(rocAuc([1, 0, 1, 0], [7, 7, 7, 7])).toBe(0.5);
  });

  it("rejects bad input with typed errors naming the field", () => {
    expect(errorOf(() => rocAuc([0, 1], [0.5])).code).toBe("length_mismatch");
    expect(errorOf(() => rocAuc([0, 1], [0.5])).field).toBe("scores");
    expect(errorOf(() => rocAuc([], [])).code).toBe("empty");
    expect(errorOf(() => rocAuc([0, 0], [0.1, 0.2])).code).toBe("no_positives");
    expect(errorOf(() => rocAuc([1, 1], [0.1, 0.2])).code).toBe("no_negatives");
    const notBinary = errorOf(() => rocAuc([0, 2], [0.1, 0.2]));
    expect([notBinary.code, notBinary.field]).toEqual(["not_binary", "labels[1]"]);
    const nan = errorOf(() => rocAuc([0, 1], [0.1, Number.NaN]));
    expect([nan.code, nan.field]).toEqual(["not_finite", "scores[1]"]);
  });
});

describe("rocCurve", () => {
  it("matches scikit-learn's roc_curve(drop_intermediate=False)", () => {
    const c = rocCurve(y, s);
    expect(c.thresholds).toEqual([Infinity, 1.0, 0.95, 0.9, 0.8, 0.7, 0.65, 0.6, 0.5, 0.4, 0.35, 0.3, 0.2, 0.1, 0.05, 0.0]);
    const fpr = [0, 1, 1, 1, 1, 2, 3, 4, 4, 5, 7, 8, 9, 11, 12, 13].map((k) => k / 13);
    const tpr = [0, 0, 1, 2, 3, 3, 4, 4, 5, 5, 7, 7, 7, 7, 7, 7].map((k) => k / 7);
    c.fpr.forEach((v, i) => expect(v).toBeCloseTo(fpr[i] as number, 15));
    c.tpr.forEach((v, i) => expect(v).toBeCloseTo(tpr[i] as number, 15));
  });
});

describe("averagePrecision and prCurve", () => {
  it("match scikit-learn", () => {
    expect(averagePrecision(y, s)).toBeCloseTo(0.5776643990929705, 14);
    const f = formulaSet();
    expect(averagePrecision(f.labels, f.scores)).toBeCloseTo(0.5676186722816075, 14);
    const c = prCurve(y, s);
    // scikit-learn's arrays reversed, without its artificial (recall 0, precision 1) end point.
    expect(c.thresholds).toEqual([1.0, 0.95, 0.9, 0.8, 0.7, 0.65, 0.6, 0.5, 0.4, 0.35, 0.3, 0.2, 0.1, 0.05, 0.0]);
    const precision = [0.0, 0.5, 0.6666666666666666, 0.75, 0.6, 0.5714285714285714, 0.5, 0.5555555555555556, 0.5, 0.5, 0.4666666666666667, 0.4375, 0.3888888888888889, 0.3684210526315789, 0.35];
    const recall = [0, 1, 2, 3, 3, 4, 4, 5, 5, 7, 7, 7, 7, 7, 7].map((k) => k / 7);
    c.precision.forEach((v, i) => expect(v).toBeCloseTo(precision[i] as number, 15));
    c.recall.forEach((v, i) => expect(v).toBeCloseTo(recall[i] as number, 15));
  });

  it("is 1 for a perfect ranking and needs a positive", () => {
    expect(averagePrecision([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8])).toBe(1);
    // Hand value: ranks 1 (neg), 2 (pos), 3 (pos): AP = 0.5 * 1/2 + 0.5 * 2/3.
    expect(averagePrecision([0, 1, 1], [0.9, 0.8, 0.7])).toBeCloseTo(0.5 / 2 + 0.5 * (2 / 3), 15);
    expect(errorOf(() => averagePrecision([0, 0], [0.2, 0.1])).code).toBe("no_positives");
  });
});

describe("operating points", () => {
  it("finds the best precision at a recall floor and the best recall at a precision floor", () => {
    const p = precisionAtRecall(y, s, 0.7);
    expect(p).toEqual({ threshold: 0.5, precision: 5 / 9, recall: 5 / 7, truePositives: 5, falsePositives: 4 });
    // Thresholds 0.7 and 0.8 both reach recall 3/7 with precision >= 0.6: the tie goes to 0.75.
    const r = recallAtPrecision(y, s, 0.6);
    expect(r).toEqual({ threshold: 0.8, precision: 0.75, recall: 3 / 7, truePositives: 3, falsePositives: 1 });
    expect(recallAtPrecision(y, s, 0.8)).toBeUndefined();
    expect(precisionAtRecall(y, s, 1).recall).toBe(1);
    expect(errorOf(() => precisionAtRecall(y, s, 0)).field).toBe("minRecall");
    expect(errorOf(() => recallAtPrecision(y, s, 1.5)).field).toBe("minPrecision");
  });

  it("finds the threshold of highest F1, the same as trying every threshold", () => {
    const best = maxF1Point(y, s);
    const brute = [...new Set(s)].map((t) => confusionAt(y, s, t)).reduce((a, b) => (b.f1 > a.f1 || (b.f1 === a.f1 && b.threshold > a.threshold) ? b : a));
    expect(best.threshold).toBe(brute.threshold);
    expect(best.f1).toBeCloseTo(brute.f1, 15);
    expect(errorOf(() => maxF1Point([0, 0], [0.1, 0.2])).code).toBe("no_positives");
  });

  it("counts the confusion matrix at a threshold (score >= threshold is flagged)", () => {
    // scikit-learn confusion_matrix at 0.5: tn 9, fp 4, fn 2, tp 5.
    const c = confusionAt(y, s, 0.5);
    expect(c).toMatchObject({ truePositives: 5, falsePositives: 4, trueNegatives: 9, falseNegatives: 2 });
    expect(c.precision).toBeCloseTo(5 / 9, 15);
    expect(c.recall).toBeCloseTo(5 / 7, 15);
    expect(c.falsePositiveRate).toBeCloseTo(4 / 13, 15);
    expect(c.accuracy).toBeCloseTo(14 / 20, 15);
    expect(c.f1).toBeCloseTo((2 * 5) / (2 * 5 + 4 + 2), 15);
    const none = confusionAt(y, s, 2);
    expect(none.truePositives + none.falsePositives).toBe(0);
    expect(none.precision).toBeNaN();
    expect(none.recall).toBe(0);
  });
});

describe("probability metrics", () => {
  it("logLoss and brierScore match scikit-learn", () => {
    // The 1.0 on a negative is clipped at machine epsilon, as scikit-learn does.
    expect(logLoss(y, s)).toBeCloseTo(2.251566751686615, 12);
    expect(brierScore(y, s)).toBeCloseTo(0.205, 15);
    const f = formulaSet();
    expect(logLoss(f.labels, f.scores)).toBeCloseTo(0.47724737578289644, 12);
    expect(brierScore(f.labels, f.scores)).toBeCloseTo(0.16059600000000002, 14);
    expect(logLoss([1], [0.5])).toBeCloseTo(Math.LN2, 15);
    expect(logLoss([0], [0], { eps: 1e-15 })).toBeCloseTo(-Math.log(1 - 1e-15), 20);
  });

  it("rejects probabilities outside [0, 1]", () => {
    const e = errorOf(() => brierScore([0, 1], [0.5, 1.2]));
    expect([e.code, e.field]).toEqual(["out_of_range", "probabilities[1]"]);
    expect(errorOf(() => logLoss([0, 1], [0.5])).field).toBe("probabilities");
  });

  it("builds a reliability table and the expected calibration error", () => {
    const table = reliabilityTable(y, s, 5);
    expect(table.map((b) => b.count)).toEqual([4, 6, 2, 4, 4]);
    expect(table.map((b) => b.lower)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    const mean = [0.0625, 0.31666666666666665, 0.45, 0.65, 0.9125];
    const positive = [0, 1 / 3, 0.5, 0.25, 0.75];
    table.forEach((b, i) => {
      expect(b.meanProbability).toBeCloseTo(mean[i] as number, 14);
      expect(b.fractionPositive).toBeCloseTo(positive[i] as number, 14);
    });
    // (4 * 0.0625 + 6 * (1/60) + 2 * 0.05 + 4 * 0.4 + 4 * 0.1625) / 20
    expect(expectedCalibrationError(y, s, 5)).toBeCloseTo(0.135, 14);
    const sparse = reliabilityTable([1, 0], [0.95, 0.99], 4);
    expect(sparse[0]?.count).toBe(0);
    expect(sparse[0]?.meanProbability).toBeNaN();
    expect(sparse[3]?.count).toBe(2);
    expect(expectedCalibrationError([1, 1, 0, 0], [1, 1, 0, 0])).toBe(0);
    expect(errorOf(() => reliabilityTable(y, s, 0)).field).toBe("bins");
  });
});

describe("cardPrecisionAtK", () => {
  // 600 transactions over 7 days and 40 cards; cards compromised two days running, 3/4 of their
  // transactions fraudulent. The reference numbers come from a pandas implementation of the
  // handbook's definition (ties by card id).
  function cardSet() {
    const n = 600;
    const days = new Int32Array(n);
    const customers = new Uint32Array(n);
    const labels = new Uint8Array(n);
    const scores = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const day = (j * 13) % 7;
      const card = (j * 17) % 40;
      const compromised = card % 8 === day % 8 || card % 8 === (day + 7) % 8;
      days[j] = day;
      customers[j] = card;
      labels[j] = compromised && j % 4 !== 0 ? 1 : 0;
      scores[j] = (((j * 101) % 97) * 7 + 300 * (labels[j] as number)) / 1000;
    }
    return { days, customers, labels, scores };
  }

  it("matches the handbook's definition with and without removing detected cards", () => {
    const input = cardSet();
    const k3 = cardPrecisionAtK(input, 3);
    expect(k3.perDay.map((d) => d.precision)).toEqual([1, 1, 1, 1, 2 / 3, 1, 1]);
    expect(k3.perDay.map((d) => d.compromisedCards)).toEqual([5, 5, 7, 7, 2, 5, 7]);
    expect(k3.mean).toBeCloseTo(0.9523809523809524, 15);
    expect(cardPrecisionAtK(input, 3, { removeDetected: false }).mean).toBe(1);
    const k5 = cardPrecisionAtK(input, 5);
    expect(k5.perDay.map((d) => d.precision)).toEqual([0.8, 0.8, 1, 1, 0.2, 0.8, 1]);
    expect(k5.perDay.map((d) => d.compromisedCards)).toEqual([5, 5, 6, 6, 1, 5, 6]);
    expect(k5.mean).toBeCloseTo(0.8, 15);
    const k5all = cardPrecisionAtK(input, 5, { removeDetected: false });
    expect(k5all.perDay.map((d) => d.compromisedCards)).toEqual([5, 5, 10, 10, 5, 5, 10]);
    expect(k5all.mean).toBeCloseTo(0.9142857142857143, 15);
  });

  it("divides by k even when fewer cards are active, ranks by each card's highest score", () => {
    const r = cardPrecisionAtK(
      { days: [0, 0, 0, 0, 1], customers: [1, 1, 2, 3, 1], labels: [0, 1, 0, 0, 0], scores: [0.9, 0.1, 0.5, 0.4, 0.3] },
      2,
    );
    // Day 0: card 1 (max 0.9, has a fraud) and card 2 on top -> 1/2. Day 1: card 1 was detected and is gone.
    expect(r.perDay).toEqual([
      { day: 0, precision: 0.5, compromisedCards: 1, detectedCards: 1 },
      { day: 1, precision: 0, compromisedCards: 0, detectedCards: 0 },
    ]);
  });

  it("checks its inputs", () => {
    const e = errorOf(() => cardPrecisionAtK({ days: [0], customers: [1, 2], labels: [1], scores: [0.5] }, 1));
    expect([e.code, e.field]).toEqual(["length_mismatch", "customers"]);
    expect(errorOf(() => cardPrecisionAtK({ days: [0], customers: [1], labels: [1], scores: [0.5] }, 0)).field).toBe("k");
  });
});
