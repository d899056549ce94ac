import { HttpClient } from "./http-client";
import { startNullServer } from "./null-server";
import { runOpenLoop, type OpenLoopOptions, type RunResult } from "./open-loop";
import { httpSender, type LoadTarget } from "./targets/target";

/**
 * The body the calibration sends: the size and shape of a fraud transaction, so serialising and
 * writing it costs what a real request does.
 */
export const CALIBRATION_BODY = JSON.stringify({
  transactionId: "calibration-0000001",
  customerId: "1234",
  terminalId: "5678",
  amount: 42.5,
  time: "2018-06-01T00:00:00.000Z",
});

/** The same request every time, to a server that answers anything with `{"ok":true}`. */
const nullTarget: LoadTarget = {
  endpoint: "null server",
  path: "/",
  next: () => ({ body: CALIBRATION_BODY, expectRejection: false }),
  interpret: () => ({}),
};

export interface CalibrationOptions extends Omit<OpenLoopOptions, "send" | "prepare" | "endpoint" | "clock"> {
  /** A null server of one's own; by default the built-in one is started for the run and stopped after. */
  url?: string;
  /** CPUs for the built-in null server (`taskset -c`), e.g. the target's when pinning. */
  cpus?: string;
  /** Called with the built-in null server's pid once it listens (to say where it ran). */
  onServer?: (pid: number) => void;
}

export interface Calibration {
  /** The load run against a server that answers at once: its latency is the instrument's own error. */
  run: RunResult;
  /** The built-in null server's URL, or the supplied one. */
  url: string;
  builtIn: boolean;
}

/**
 * Measures the instrument: the same open-loop run, at the rate asked, against a server that does
 * nothing. Whatever latency and send lag it shows is the generator's (plus the least any HTTP
 * server costs), and it bounds what the generator adds to every measurement at that rate.
 */
export async function calibrate(options: CalibrationOptions): Promise<Calibration> {
  const { url: suppliedUrl, cpus, onServer, ...loop } = options;
  const server = suppliedUrl ? null : await startNullServer(cpus ? { cpus } : {});
  if (server) onServer?.(server.pid);
  const url = suppliedUrl ?? (server?.url as string);
  const client = new HttpClient({ baseUrl: url, maxSockets: loop.maxInFlight ?? 1000 });
  try {
    const run = await runOpenLoop({ ...loop, ...httpSender(nullTarget, client) });
    return { run, url, builtIn: server !== null };
  } finally {
    client.close();
    await server?.stop();
  }
}
