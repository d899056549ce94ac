export type ScaleType = "linear" | "log";

export interface Scale {
  type: ScaleType;
  domain: [number, number];
  /** Pixel range [start, end]; for a y axis start is the bottom. */
  range: [number, number];
  map(v: number): number;
  ticks: number[];
  format(v: number): string;
}

/** 1, 2 or 5 times a power of ten, close to span / target. */
export function niceStep(span: number, target: number): number {
  const raw = span / Math.max(1, target);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / power;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
}

/** Pads a degenerate or empty domain and, for linear scales, widens it to whole tick steps. */
export function niceDomain(min: number, max: number, type: ScaleType, targetTicks = 6): [number, number] {
  if (type === "log") {
    if (!(min > 0) || !Number.isFinite(max)) return [1, 10];
    const lo = Math.pow(10, Math.floor(Math.log10(min) + 1e-9));
    let hi = Math.pow(10, Math.ceil(Math.log10(max) - 1e-9));
    if (hi <= lo) hi = lo * 10;
    return [lo, hi];
  }
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const step = niceStep(max - min, targetTicks);
  const round = (v: number): number => Number(v.toPrecision(12));
  return [round(Math.floor(min / step + 1e-9) * step), round(Math.ceil(max / step - 1e-9) * step)];
}

function decimalsFor(step: number): number {
  return Math.max(0, Math.min(12, -Math.floor(Math.log10(step) + 1e-9)));
}

/** Tick labels: fixed decimals matching the step, k/M suffixes for large values, exponents for tiny ones. */
export function formatTick(v: number, step: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e6 && step >= 1e5) return `${trim((v / 1e6).toFixed(decimalsFor(step / 1e6)))}M`;
  if (a >= 1e4 && step >= 1e3) return `${trim((v / 1e3).toFixed(decimalsFor(step / 1e3)))}k`;
  if (a < 1e-3) {
    const [mantissa, exponent] = v.toExponential(3).split("e");
    return `${trim(mantissa as string)}e${exponent}`;
  }
  return trim(v.toFixed(decimalsFor(step)));
}

const trim = (s: string): string => (s.includes(".") ? s.replace(/\.?0+$/, "") : s);

export function createScale(type: ScaleType, domain: [number, number], range: [number, number], targetTicks = 6): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  if (type === "log") {
    const l0 = Math.log10(d0);
    const l1 = Math.log10(d1);
    const ticks: number[] = [];
    const decades = Math.round(l1 - l0);
    // Few decades: also 2x and 5x so the axis is not left with two labels.
    const multiples = decades <= 2 ? [1, 2, 5] : [1];
    const every = Math.max(1, Math.ceil(decades / 8));
    for (let e = Math.floor(l0); e <= Math.ceil(l1); e++) {
      if ((e - Math.floor(l0)) % every !== 0) continue;
      for (const m of multiples) {
        const v = m * Math.pow(10, e);
        if (v >= d0 * (1 - 1e-9) && v <= d1 * (1 + 1e-9)) ticks.push(v);
      }
    }
    return {
      type,
      domain,
      range,
      map: (v) => r0 + ((Math.log10(v) - l0) / (l1 - l0)) * (r1 - r0),
      ticks,
      format: (v) => formatTick(v, v),
    };
  }
  const step = niceStep(d1 - d0, targetTicks);
  const ticks: number[] = [];
  for (let k = Math.ceil(d0 / step - 1e-9); k * step <= d1 + step * 1e-9; k++) ticks.push(Number((k * step).toPrecision(12)));
  return {
    type,
    domain,
    range,
    map: (v) => r0 + ((v - d0) / (d1 - d0)) * (r1 - r0),
    ticks,
    format: (v) => formatTick(v, step),
  };
}
