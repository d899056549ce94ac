/** Bad input to the load generator (an option, a budget file, a command-line flag), naming the field. */
export class LoadgenInputError extends RangeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "LoadgenInputError";
  }
}

export function requirePositive(field: string, value: number): void {
  if (!Number.isFinite(value) || !(value > 0)) throw new LoadgenInputError(field, `must be a positive number, got ${value}`);
}

export function requireNonNegative(field: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) throw new LoadgenInputError(field, `must be a number >= 0, got ${value}`);
}

export function requirePositiveInt(field: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new LoadgenInputError(field, `must be a positive integer, got ${value}`);
}

export function requireShare(field: string, value: number): void {
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new LoadgenInputError(field, `must be in [0, 1], got ${value}`);
}
