export class PlotInputError extends RangeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "PlotInputError";
  }
}

export function checkSize(width: number, height: number): void {
  if (!Number.isFinite(width) || width < 200) throw new PlotInputError("width", `must be at least 200 pixels, got ${width}`);
  if (!Number.isFinite(height) || height < 150) throw new PlotInputError("height", `must be at least 150 pixels, got ${height}`);
}

export function checkDomain(field: string, domain: [number, number] | undefined, log: boolean): void {
  if (domain === undefined) return;
  const [a, b] = domain;
  if (!Number.isFinite(a) || !Number.isFinite(b) || !(b > a)) throw new PlotInputError(field, `must be [min, max] with min < max, got [${a}, ${b}]`);
  if (log && !(a > 0)) throw new PlotInputError(field, `must be positive on a log scale, got [${a}, ${b}]`);
}

/** Short deterministic id so several charts can share one HTML page without clip-path clashes. */
export function idFor(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}
