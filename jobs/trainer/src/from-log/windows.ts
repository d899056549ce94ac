/** Milliseconds in a day of event time. */
export const dayMs = 86_400_000;

export interface LogWindowOptions {
  /** The time the model is trained at (event time: the service clock's now). */
  asOf: number | string;
  trainDays: number;
  /** Between training and evaluation, so no training row's label or feature reaches into the evaluation window. */
  gapDays: number;
  evalDays: number;
  /** How long labels take to settle: the evaluation window ends this long before `asOf`. */
  labelHorizonDays: number;
}

export interface LogWindows {
  asOf: number;
  trainFrom: number;
  trainTo: number;
  evalFrom: number;
  evalTo: number;
  labelHorizonMs: number;
}

/** train | gap | evaluation | label horizon | asOf, in event time. */
export function logWindows(options: LogWindowOptions): LogWindows {
  const asOf = typeof options.asOf === "number" ? options.asOf : Date.parse(options.asOf);
  if (!Number.isFinite(asOf)) throw new RangeError(`asOf: not a time: ${String(options.asOf)}`);
  for (const key of ["trainDays", "gapDays", "evalDays", "labelHorizonDays"] as const) {
    const v = options[key];
    if (!(v >= 0) || (key !== "gapDays" && key !== "labelHorizonDays" && !(v > 0))) throw new RangeError(`${key}: must be ${key === "gapDays" || key === "labelHorizonDays" ? "non-negative" : "positive"}, got ${v}`);
  }
  const labelHorizonMs = options.labelHorizonDays * dayMs;
  const evalTo = asOf - labelHorizonMs;
  const evalFrom = evalTo - options.evalDays * dayMs;
  const trainTo = evalFrom - options.gapDays * dayMs;
  const trainFrom = trainTo - options.trainDays * dayMs;
  return { asOf, trainFrom, trainTo, evalFrom, evalTo, labelHorizonMs };
}

export function describeWindows(w: LogWindows): string {
  const d = (ms: number) => new Date(ms).toISOString().slice(0, 16);
  return `train ${d(w.trainFrom)}..${d(w.trainTo)}, evaluation ${d(w.evalFrom)}..${d(w.evalTo)}, as of ${d(w.asOf)}`;
}
