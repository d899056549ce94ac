import net from "node:net";
import { Worker } from "node:worker_threads";
import { jsonBody, keepAliveTimeoutSeconds, parseHttpOrigin, ResponseParser, type ParsedResponse } from "./http-wire";
import type { Answer } from "./open-loop";
import { followSchedule } from "./sender-loop";

/** Requests ready to go on the wire, and how to read their answers. */
export interface DirectHttpTarget {
  /** e.g. http://127.0.0.1:8081 */
  url: string;
  /** The whole request (request line, headers, body) for schedule position `index`; read once, before the run. */
  request(index: number): string;
  answer(index: number, status: number, body: unknown): Answer;
}

/** Times are on performance.now()'s clock; `scheduledAt` is when the request was due. */
export interface DirectHttpEvents {
  answered(index: number, answer: Answer, scheduledAt: number, sentAt: number, now: number): void;
  timedOut(index: number, scheduledAt: number, sentAt: number, now: number): void;
  failed(index: number, now: number): void;
}

export interface DirectHttpRun {
  offsets: Float64Array;
  target: DirectHttpTarget;
  maxInFlight: number;
  timeoutMs: number;
  events: DirectHttpEvents;
  /** Called just before the first request is due, after the requests and connections are ready. */
  onStart?: () => void;
}

export interface DirectHttpResult {
  /** The schedule's zero on performance.now()'s clock. */
  start: number;
  /** Per request, when it was written, in ms from `start`; -1 dropped (in-flight cap). */
  sentAt: Float64Array;
  maxInFlightSeen: number;
  /** Requests the sender found no free connection for: the main thread sent them on a new one. */
  handedToMain: number;
  /** Idle connections kept ready for the sender (`RESERVE_MS` of requests), and how many were opened in all. */
  reserve: number;
  connectionsOpened: number;
}

// Shared control words (Int32 indices) and connection slot states.
const STATE = 0;
const IN_FLIGHT = 1;
const MAX_SEEN = 2;
const RING_HEAD = 3;
const RING_TAIL = 4;
const RUNNING = 1;
const STOPPING = 2;
const FREE = 1;
const TAKEN = 2;
const DEAD = 3;
/** Being opened as a spare: carries no request yet. */
const CONNECTING = 4;
/**
 * Idle connections kept ready for the sender: enough for this many milliseconds of requests (at
 * least MIN_RESERVE). Connections are freed only when the main thread reads their answers, so if it
 * stalls (a busy shared machine deschedules it for tens of milliseconds) the sender goes on sending
 * on the reserve instead of handing every request to the stalled main thread. Topped up on every
 * sweep and whenever the sender runs out.
 */
const RESERVE_MS = 50;
const MIN_RESERVE = 8;
/** An idle connection is closed this long before the server's `Keep-Alive: timeout` says the server would. */
const IDLE_MARGIN_MS = 1000;

/**
 * The sender thread: `followSchedule` (its source, so the unit-tested loop is the one that runs)
 * over shared memory. It sleeps in `Atomics.wait` (a kernel high-resolution timer) and writes each
 * request straight to a free keep-alive connection's socket with write(2) when it is due, so
 * neither the main thread's event loop nor its millisecond timers stand between the schedule and
 * the wire. The main thread owns the connections and reads every answer.
 */
const SENDER_SOURCE = `
const { parentPort, workerData: w } = require("node:worker_threads");
const { writeSync } = require("node:fs");
const __name = (f) => f; // esbuild's keepNames helper, which the function's source may call
const followSchedule = (${followSchedule.toString()});
const control = new Int32Array(w.control, 0, 8);
const startNs = new BigInt64Array(w.control, 32, 1);
const slotState = new Int32Array(w.slotState), slotFd = new Int32Array(w.slotFd), slotReq = new Int32Array(w.slotReq);
const writing = new Int32Array(w.writing), inRing = new Int32Array(w.inRing), ring = new Int32Array(w.ring);
const offsets = new Float64Array(w.offsets), sentAt = new Float64Array(w.sentAt);
const bytes = new Uint8Array(w.bytes), starts = new Float64Array(w.starts);
const [STATE, IN_FLIGHT, MAX_SEEN, RING_HEAD, RING_TAIL, RUNNING, FREE, TAKEN] = w.constants;
parentPort.postMessage("ready");
while (Atomics.load(control, STATE) === 0) Atomics.wait(control, STATE, 0);
const start = Atomics.load(startNs, 0);
let maxSeen = 0;
const begin = () => {
  const n = Atomics.add(control, IN_FLIGHT, 1) + 1;
  if (n > maxSeen) Atomics.store(control, MAX_SEEN, (maxSeen = n));
};
const port = {
  now: () => Number(process.hrtime.bigint() - start) / 1e6,
  sleep: (ms) => void Atomics.wait(control, STATE, RUNNING, ms),
  stopped: () => Atomics.load(control, STATE) !== RUNNING,
  inFlight: () => Atomics.load(control, IN_FLIGHT),
  take: () => {
    for (;;) {
      const head = Atomics.load(control, RING_HEAD);
      if (head === Atomics.load(control, RING_TAIL)) return -1;
      const slot = ring[head % ring.length];
      Atomics.store(inRing, slot, 0);
      Atomics.store(control, RING_HEAD, head + 1);
      // Marked before the claim: the main thread never closes a connection this thread is writing to.
      Atomics.store(writing, slot, 1);
      if (Atomics.compareExchange(slotState, slot, FREE, TAKEN) === FREE) return slot;
      Atomics.store(writing, slot, 0);
    }
  },
  send: (slot, index) => {
    begin();
    sentAt[index] = port.now();
    Atomics.store(slotReq, slot, index);
    let at = starts[index];
    const end = starts[index + 1];
    try {
      while (at < end) {
        try {
          at += writeSync(slotFd[slot], bytes, at, end - at);
        } catch (error) {
          if (error.code !== "EAGAIN") throw error;
          Atomics.wait(control, STATE, RUNNING, 0.05);
        }
      }
    } catch {
      // The connection is gone; the main thread sees it close and counts the request as failed.
    }
    Atomics.store(writing, slot, 0);
  },
  overflow: (index) => {
    begin();
    parentPort.postMessage(index);
  },
  drop: (index) => {
    sentAt[index] = -1;
  },
};
followSchedule(offsets, w.maxInFlight, port);
parentPort.postMessage("done");
`;

interface Slot {
  socket: net.Socket;
  parser: ResponseParser;
  /** performance.now() after which, idle, the server may close it. */
  staleAfter: number;
}

function socketFd(socket: net.Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === "number" && fd >= 0 ? fd : -1;
}

/**
 * Runs a schedule of HTTP requests with the sender thread writing each at its time and the main
 * thread reading the answers, over keep-alive connections (one request at a time each; a new one
 * is opened when none is free, by the main thread, which also sends that request). Timeouts are
 * swept every few milliseconds. Resolves when every request was answered, timed out or failed.
 */
export async function runDirectHttp(run: DirectHttpRun): Promise<DirectHttpResult> {
  const { offsets, target, maxInFlight, timeoutMs, events } = run;
  const { host, port } = parseHttpOrigin(target.url);

  const n = offsets.length;
  const requests = Array.from({ length: n }, (_, i) => Buffer.from(target.request(i)));
  const starts = new Float64Array(new SharedArrayBuffer((n + 1) * 8));
  for (let i = 0; i < n; i++) starts[i + 1] = (starts[i] as number) + (requests[i] as Buffer).length;
  const bytes = new Uint8Array(new SharedArrayBuffer(Math.max(1, starts[n] as number)));
  for (let i = 0; i < n; i++) bytes.set(requests[i] as Buffer, starts[i] as number);
  requests.length = 0;

  // More slots than the cap: a connection closed while in the sender's queue is reused only once it left it.
  const span = n > 1 ? (offsets[n - 1] as number) - (offsets[0] as number) : 0;
  const perMs = span > 0 ? (n - 1) / span : 0;
  const reserve = Math.min(maxInFlight, Math.max(MIN_RESERVE, Math.ceil(perMs * RESERVE_MS)));
  const maxSlots = maxInFlight * 2 + MIN_RESERVE;
  const shared = (length: number) => new Int32Array(new SharedArrayBuffer(length * 4));
  const control = new Int32Array(new SharedArrayBuffer(40), 0, 8);
  const startNs = new BigInt64Array(control.buffer, 32, 1);
  const slotState = shared(maxSlots);
  const slotFd = shared(maxSlots).fill(-1);
  const slotReq = shared(maxSlots);
  const writing = shared(maxSlots);
  const inRing = shared(maxSlots);
  const ring = shared(maxSlots);
  const sharedOffsets = new Float64Array(new SharedArrayBuffer(n * 8));
  sharedOffsets.set(offsets);
  const sentAt = new Float64Array(new SharedArrayBuffer(n * 8)).fill(Number.NaN);

  const worker = new Worker(SENDER_SOURCE, {
    eval: true,
    workerData: {
      control: control.buffer,
      slotState: slotState.buffer,
      slotFd: slotFd.buffer,
      slotReq: slotReq.buffer,
      writing: writing.buffer,
      inRing: inRing.buffer,
      ring: ring.buffer,
      offsets: sharedOffsets.buffer,
      sentAt: sentAt.buffer,
      bytes: bytes.buffer,
      starts: starts.buffer,
      maxInFlight,
      constants: [STATE, IN_FLIGHT, MAX_SEEN, RING_HEAD, RING_TAIL, RUNNING, FREE, TAKEN],
    },
  });
  const workerError = new Promise<never>((_, reject) => worker.once("error", reject));
  workerError.catch(() => {});
  await Promise.race([new Promise<void>((resolve) => worker.once("message", () => resolve())), workerError]);

  const slots: (Slot | null)[] = Array.from({ length: maxSlots }, () => null);
  let start = Number.NaN;
  let scheduleDone = false;
  let finish: (() => void) | null = null;
  let used = 0;
  let connectionsOpened = 0;
  /** The last connection attempt failed: no spares are opened until one succeeds. */
  let connectsFailing = false;

  const pushFree = (slot: number): void => {
    Atomics.store(slotState, slot, FREE);
    Atomics.store(inRing, slot, 1);
    const tail = Atomics.load(control, RING_TAIL);
    ring[tail % maxSlots] = slot;
    Atomics.store(control, RING_TAIL, tail + 1);
  };
  const settled = (): void => {
    Atomics.sub(control, IN_FLIGHT, 1);
    if (scheduleDone && Atomics.load(control, IN_FLIGHT) === 0) finish?.();
  };
  // A closed socket's file descriptor may be reused at once: never close one the sender may still write to.
  const destroyWhenWritten = (slot: number, socket: net.Socket): void => {
    if (Atomics.load(writing, slot) === 1) setImmediate(() => destroyWhenWritten(slot, socket));
    else socket.destroy();
  };
  const kill = (slot: number): void => {
    Atomics.store(slotState, slot, DEAD);
    const socket = slots[slot]?.socket;
    slots[slot] = null;
    if (socket) destroyWhenWritten(slot, socket);
  };
  const onResponse = (slot: number, response: ParsedResponse): void => {
    const now = performance.now();
    const index = Atomics.load(slotReq, slot);
    const seconds = keepAliveTimeoutSeconds(response.headers);
    const s = slots[slot];
    if (s && seconds !== null) s.staleAfter = now + seconds * 1000 - IDLE_MARGIN_MS;
    // Without its file descriptor the sender cannot write to it: such a connection carries one request.
    if (response.close || (slotFd[slot] as number) < 0) kill(slot);
    else pushFree(slot);
    events.answered(index, target.answer(index, response.status, jsonBody(response)), start + (offsets[index] as number), start + (sentAt[index] as number), now);
    settled();
  };
  const gone = (slot: number): void => {
    if (Atomics.compareExchange(slotState, slot, FREE, DEAD) === FREE) return kill(slot);
    if (Atomics.load(slotState, slot) === CONNECTING) return kill(slot);
    if (Atomics.load(slotState, slot) !== TAKEN) return;
    // The sender is still writing to it: close it only once it is done.
    if (Atomics.load(writing, slot) === 1) return void setImmediate(() => gone(slot));
    let response: ParsedResponse | null = null;
    try {
      response = slots[slot]?.parser.end() ?? null;
    } catch {
      response = null;
    }
    if (response) {
      onResponse(slot, { ...response, close: true });
      return;
    }
    const index = Atomics.load(slotReq, slot);
    kill(slot);
    events.failed(index, performance.now());
    settled();
  };
  const allocate = (): number => {
    if (used < maxSlots) return used++;
    for (let s = 0; s < used; s++) if (Atomics.load(slotState, s) === DEAD && Atomics.load(inRing, s) === 0) return s;
    return -1;
  };
  const open = (slot: number, onConnect: () => void): net.Socket => {
    connectionsOpened++;
    const socket = net.connect({ host, port, noDelay: true, allowHalfOpen: true });
    const parser = new ResponseParser();
    slots[slot] = { socket, parser, staleAfter: Number.POSITIVE_INFINITY };
    socket.on("connect", () => {
      connectsFailing = false;
      slotFd[slot] = socketFd(socket);
      onConnect();
    });
    socket.once("error", () => {
      if (!socket.connecting) return;
      connectsFailing = true;
    });
    socket.on("data", (chunk: Buffer) => {
      if (Atomics.load(slotState, slot) !== TAKEN) return void gone(slot);
      let response: ParsedResponse | null;
      try {
        response = parser.push(chunk);
      } catch {
        return void gone(slot);
      }
      if (response) onResponse(slot, response);
    });
    const onGone = () => {
      if (slots[slot]?.socket === socket) gone(slot);
    };
    socket.on("end", onGone);
    socket.on("error", onGone);
    socket.on("close", onGone);
    return socket;
  };
  let sparesConnecting = 0;
  /** Opens idle connections for the sender until `n` are on their way (never more than the in-flight cap in all). */
  const openSpare = (n: number): Promise<void>[] => {
    const opened: Promise<void>[] = [];
    const open_ = slots.filter((x) => x !== null).length;
    for (let k = 0; sparesConnecting < n && open_ + k < maxInFlight; k++) {
      const slot = allocate();
      if (slot < 0) break;
      Atomics.store(slotState, slot, CONNECTING);
      sparesConnecting++;
      opened.push(
        new Promise<void>((resolve) => {
          let done = false;
          const settle = () => {
            if (done) return;
            done = true;
            sparesConnecting--;
            resolve();
          };
          const socket = open(slot, () => {
            if ((slotFd[slot] as number) >= 0) pushFree(slot);
            else kill(slot);
            settle();
          });
          socket.once("close", settle);
        }),
      );
    }
    return opened;
  };
  /** Opens connections until `reserve` are free or on their way. */
  const topUp = (): void => {
    if (connectsFailing) return;
    const free = Atomics.load(control, RING_TAIL) - Atomics.load(control, RING_HEAD);
    if (free + sparesConnecting < reserve) void openSpare(reserve - free);
  };
  // A request the sender found no free connection for: a new connection carries it, sent from here.
  let handedToMain = 0;
  const overflow = (index: number): void => {
    handedToMain++;
    const slot = allocate();
    if (slot < 0) {
      events.failed(index, performance.now());
      return settled();
    }
    Atomics.store(slotState, slot, TAKEN);
    Atomics.store(slotReq, slot, index);
    sentAt[index] = performance.now() - start;
    const socket = open(slot, () => {});
    socket.write(bytes.subarray(starts[index] as number, starts[index + 1] as number));
    topUp();
  };

  try {
    // Warm connections, handed to the sender once connected; a refused one just goes.
    await Promise.all(openSpare(reserve));
    const done = new Promise<void>((resolve) => (finish = resolve));
    worker.on("message", (message: unknown) => {
      if (typeof message === "number") overflow(message);
      else if (message === "done") {
        scheduleDone = true;
        if (Atomics.load(control, IN_FLIGHT) === 0) finish?.();
      }
    });
    const sweep = setInterval(
      () => {
        topUp();
        const now = performance.now();
        for (let s = 0; s < used; s++) {
          // Idle too long: the server may close it just as the sender writes to it.
          if (now > (slots[s]?.staleAfter ?? Number.POSITIVE_INFINITY) && Atomics.compareExchange(slotState, s, FREE, DEAD) === FREE) {
            kill(s);
            continue;
          }
          if (Atomics.load(slotState, s) !== TAKEN || Atomics.load(writing, s) === 1) continue;
          const index = Atomics.load(slotReq, s);
          const sent = start + (sentAt[index] as number);
          if (now - sent < timeoutMs) continue;
          kill(s);
          events.timedOut(index, start + (offsets[index] as number), sent, now);
          settled();
        }
      },
      Math.min(25, Math.max(5, timeoutMs / 20)),
    );
    try {
      run.onStart?.();
      start = performance.now();
      const sinceStart = performance.now() - start;
      Atomics.store(startNs, 0, process.hrtime.bigint() - BigInt(Math.floor(sinceStart * 1e6)));
      Atomics.store(control, STATE, RUNNING);
      Atomics.notify(control, STATE);
      await Promise.race([done, workerError]);
    } finally {
      clearInterval(sweep);
    }
    return { start, sentAt: Float64Array.from(sentAt), maxInFlightSeen: Atomics.load(control, MAX_SEEN), handedToMain, reserve, connectionsOpened };
  } finally {
    Atomics.store(control, STATE, STOPPING);
    Atomics.notify(control, STATE);
    await worker.terminate();
    writing.fill(0);
    for (let s = 0; s < maxSlots; s++) if (slots[s]) kill(s);
  }
}
