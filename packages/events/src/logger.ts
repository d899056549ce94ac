/** The logging surface this package needs; a service-kit Logger fits it. */
export interface EventLogger {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export const silentEventLogger: EventLogger = {
  info: () => {},
  warn: () => {},
  error: () => {},
};

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
