import { describe, expect, it } from "vitest";
import { followSchedule, type SenderPort } from "./sender-loop";

type Event = { kind: "send" | "overflow" | "drop"; index: number; at: number; slot?: number };

/**
 * The sender thread's port on virtual time: `sleep` advances the clock by what was asked plus an
 * overshoot (a kernel timer under load); connections come from a list; in-flight requests are
 * answered after `serviceMs` of virtual time.
 */
function fakePort(options: { overshoot?: (n: number) => number; connections?: number; serviceMs?: number; stopAfter?: number } = {}) {
  let time = 0;
  let sleeps = 0;
  const free = Array.from({ length: options.connections ?? 100 }, (_, i) => i);
  const answers: { at: number; slot: number }[] = [];
  const events: Event[] = [];
  let inFlight = 0;
  const settle = () => {
    for (let a = answers[0]; a && a.at <= time; a = answers[0]) {
      answers.shift();
      inFlight--;
      if (a.slot >= 0) free.push(a.slot);
    }
  };
  const begin = (slot: number) => {
    inFlight++;
    answers.push({ at: time + (options.serviceMs ?? 0.1), slot });
    answers.sort((x, y) => x.at - y.at);
  };
  const port: SenderPort = {
    now: () => time,
    sleep: (ms) => {
      time += ms + (options.overshoot?.(sleeps++) ?? 0);
      settle();
    },
    stopped: () => options.stopAfter !== undefined && events.length >= options.stopAfter,
    inFlight: () => inFlight,
    take: () => free.pop() ?? -1,
    send: (slot, index) => {
      events.push({ kind: "send", index, at: time, slot });
      begin(slot);
    },
    overflow: (index) => {
      events.push({ kind: "overflow", index, at: time });
      begin(-1);
    },
    drop: (index) => events.push({ kind: "drop", index, at: time }),
  };
  return { port, events };
}

describe("followSchedule (the sender thread's loop)", () => {
  it("sends every request once, in order, never before it is due", () => {
    const offsets = Float64Array.from({ length: 50 }, (_, i) => i * 0.2);
    const { port, events } = fakePort({ overshoot: (n) => (n * 0.037) % 0.3 });
    followSchedule(offsets, 1000, port);
    expect(events.map((e) => e.index)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(events.every((e) => e.kind === "send")).toBe(true);
    for (const e of events) expect(e.at).toBeGreaterThanOrEqual(offsets[e.index] as number);
  });

  it("after an overslept wake-up sends the requests due by then, and no more", () => {
    // 1,000/s; the third sleep oversleeps by 2.5 ms.
    const offsets = Float64Array.from({ length: 8 }, (_, i) => i);
    const { port, events } = fakePort({ overshoot: (n) => (n === 2 ? 2.5 : 0) });
    followSchedule(offsets, 1000, port);
    const byTime = new Map<number, number[]>();
    for (const e of events) byTime.set(e.at, [...(byTime.get(e.at) ?? []), e.index]);
    expect([...byTime.values()]).toEqual([[0], [1], [2], [3, 4, 5], [6], [7]]);
    expect([...byTime.keys()]).toEqual([0, 1, 2, 5.5, 6, 7]);
  });

  it("drops a request due while the in-flight cap is reached, and sends the next one due after answers came back", () => {
    // Answers take 2.5 ms; at most 2 in flight; one request per millisecond.
    const offsets = Float64Array.from({ length: 6 }, (_, i) => i);
    const { port, events } = fakePort({ serviceMs: 2.5 });
    followSchedule(offsets, 2, port);
    expect(events.map((e) => `${e.kind} ${e.index}`)).toEqual(["send 0", "send 1", "drop 2", "send 3", "send 4", "drop 5"]);
  });

  it("hands a request to the main thread when no connection is free", () => {
    const offsets = Float64Array.from([0, 0, 0, 5]);
    const { port, events } = fakePort({ connections: 2, serviceMs: 1 });
    followSchedule(offsets, 10, port);
    expect(events.map((e) => `${e.kind} ${e.index}`)).toEqual(["send 0", "send 1", "overflow 2", "send 3"]);
  });

  it("stops when told to, leaving the rest unsent", () => {
    const offsets = Float64Array.from({ length: 10 }, (_, i) => i);
    const { port, events } = fakePort({ stopAfter: 4 });
    followSchedule(offsets, 10, port);
    expect(events.map((e) => e.index)).toEqual([0, 1, 2, 3]);
  });
});
