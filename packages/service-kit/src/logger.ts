export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface Logger {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
  child(bindings: object): Logger;
}

export interface LoggerOptions {
  service: string;
  level?: LogLevel;
  /** Where lines go; stdout by default. Tests pass an array sink. */
  write?: (line: string) => void;
  bindings?: object;
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  return value;
}

/** One JSON object per line: `time`, `level`, `service`, `msg`, then the fields. */
export function createLogger(options: LoggerOptions): Logger {
  const threshold = LEVEL_RANK[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stdout.write(line + "\n"));
  const base = { service: options.service, ...options.bindings };

  const emit = (level: Exclude<LogLevel, "silent">, fields: object, msg: string): void => {
    if (LEVEL_RANK[level] < threshold) return;
    const record: Record<string, unknown> = { time: new Date().toISOString(), level, ...base, msg };
    for (const [k, v] of Object.entries(fields)) record[k] = serialise(v);
    write(JSON.stringify(record));
  };

  return {
    debug: (f, m) => emit("debug", f, m),
    info: (f, m) => emit("info", f, m),
    warn: (f, m) => emit("warn", f, m),
    error: (f, m) => emit("error", f, m),
    child: (bindings) => createLogger({ ...options, bindings: { ...options.bindings, ...bindings } }),
  };
}

export const silentLogger: Logger = createLogger({ service: "silent", level: "silent" });
