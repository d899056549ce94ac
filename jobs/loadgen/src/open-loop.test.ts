import { describe, expect, it } from "vitest";
import { sleep, VirtualClock } from "./clock";
import { LatencyRecorder } from "./latency";
import { runOpenLoop, type Answer } from "./open-loop";
import { serialServer } from "./serial-server.test-helper";

describe("runOpenLoop", () => {
  it("charges a 200 ms stall to every request queued behind it, which a closed loop hides", async () => {
    // 200 req/s for 2 s into a 1 ms/request single-threaded service that stalls 200 ms on request 100.
    const clock = new VirtualClock();
    const server = serialServer(clock, 1, { at: 100, ms: 200 });
    const open = await clock.run(runOpenLoop({ rate: 200, durationMs: 2000, send: () => server.handle(), clock, timeoutMs: 10_000 }));

    // Request 100 takes 201 ms; request 100+j (j = 1..49) waits behind it and takes 201 - 4j ms.
    expect(open.counts).toMatchObject({ scheduled: 400, sent: 400, ok: 400, dropped: 0, timeouts: 0 });
    expect(open.latency.max).toBe(201);
    expect(open.latency.p99).toBeCloseTo(185, 0); // the 5th largest of 400: 201, 197, 193, 189, 185
    expect(open.latency.p90).toBeCloseTo(41, 0); // the 41st largest: 201 - 4 * 40
    expect(open.latency.p50).toBe(1);
    expect(open.sendLag.max).toBe(0);

    // The same service measured closed-loop: one client that waits for each answer before sending.
    const closedClock = new VirtualClock();
    const closedServer = serialServer(closedClock, 1, { at: 100, ms: 200 });
    const closed = new LatencyRecorder();
    await closedClock.run(
      (async () => {
        while (closedClock.now() < 2000) {
          const sentAt = closedClock.now();
          await closedServer.handle();
          closed.record(closedClock.now() - sentAt);
        }
      })(),
    );
    expect(closed.summary().max).toBe(201);
    expect(closed.summary().p99).toBe(1); // one slow sample among ~1,800: the stall vanishes from p99
    expect(closedServer.received).toBeLessThan(1900);
  });

  it("keeps offering the rate to a target four times too slow, and the queue shows in latency", async () => {
    const clock = new VirtualClock();
    const server = serialServer(clock, 20);
    const sendTimes: number[] = [];
    const result = await clock.run(
      runOpenLoop({
        rate: 200,
        durationMs: 1000,
        clock,
        timeoutMs: 10_000,
        send: () => {
          sendTimes.push(clock.now());
          return server.handle();
        },
      }),
    );
    // A closed loop would have sent 50 in this second; open loop sends all 200, each on time.
    expect(result.counts.sent).toBe(200);
    expect(sendTimes[199]).toBe(995);
    expect(result.sendLag.max).toBe(0);
    // Request i is answered at 20 (i + 1) ms: latency 20 + 15 i, the last one 3,005 ms.
    expect(result.latency.max).toBe(3005);
    expect(result.latency.min).toBe(20);
    // At t = 995 ms 49 answers are back and 151 requests are outstanding.
    expect(result.maxInFlightSeen).toBe(151);
    expect(result.elapsedMs).toBe(4000);
    expect(result.throughput).toBeCloseTo(50, 6);
  });

  it("counts requests beyond the in-flight cap as dropped errors instead of delaying them", async () => {
    const clock = new VirtualClock();
    const server = serialServer(clock, 20);
    const result = await clock.run(runOpenLoop({ rate: 200, durationMs: 1000, clock, maxInFlight: 10, timeoutMs: 10_000, send: () => server.handle() }));
    expect(result.maxInFlightSeen).toBe(10);
    expect(result.counts.sent + result.counts.dropped).toBe(200);
    expect(result.counts.dropped).toBeGreaterThan(100);
    expect(result.counts.sent).toBe(server.received);
    expect(result.errorRate).toBeCloseTo(result.counts.dropped / 200, 12);
  });

  it("leaves the warm-up out of every statistic but still sends it", async () => {
    const clock = new VirtualClock();
    let prepared = 0;
    let calls = 0;
    const result = await clock.run(
      runOpenLoop({
        rate: 100,
        durationMs: 1000,
        warmupMs: 500,
        clock,
        prepare: (count) => {
          prepared = count;
        },
        // Cold during warm-up (50 ms), warm after (1 ms).
        send: ({ index }) => {
          calls++;
          return sleep(clock, index < 50 ? 50 : 1).then(() => ({ status: 200 }));
        },
      }),
    );
    expect(prepared).toBe(150);
    expect(calls).toBe(150);
    expect(result.counts.scheduled).toBe(100);
    expect(result.counts.sent).toBe(100);
    expect(result.latency.count).toBe(100);
    expect(result.latency.max).toBe(1);
  });

  it("sorts answers into ok, expected rejections, bad statuses, fallbacks and stage timings", async () => {
    const clock = new VirtualClock();
    const answers: Answer[] = [
      { status: 200, timings: { features: 0.5, model: 0.25 }, fallback: false },
      { status: 200, timings: { features: 1.5, model: 0.75 }, fallback: true },
      { status: 400, expectRejection: true },
      { status: 400 },
      { status: 200, expectRejection: true },
      { status: 503 },
    ];
    const result = await clock.run(
      runOpenLoop({ rate: 100, durationMs: 60, clock, endpoint: "fraud", send: ({ index }) => sleep(clock, 2).then(() => answers[index] as Answer) }),
    );
    expect(result.endpoint).toBe("fraud");
    expect(result.counts).toEqual({ scheduled: 6, sent: 6, ok: 2, rejected: 1, badStatus: 3, timeouts: 0, transportErrors: 0, dropped: 0, fallbacks: 1 });
    expect(result.statusCounts).toEqual({ "200": 3, "400": 2, "503": 1 });
    expect(result.errorRate).toBeCloseTo(3 / 6, 12);
    expect(result.fallbackRate).toBe(0.5);
    expect(Object.keys(result.stages)).toEqual(["features", "model"]);
    expect(result.stages.features).toMatchObject({ count: 2, min: 0.5, max: 1.5 });
    // Expected rejections are answered correctly but are not the latency the budget is about.
    expect(result.latency.count).toBe(5);
    // Admitted = the two real 2xx answers; refused = the overload answer (503), each timed on its own.
    expect(result.admittedLatency.count).toBe(2);
    expect(result.refusedLatency).toMatchObject({ count: 1, min: 2, max: 2 });
  });

  it("times the answers a shedding target admitted apart from the ones it refused", async () => {
    const clock = new VirtualClock();
    // Every third request is refused at once (429 or 503); the admitted ones take 10 ms.
    const result = await clock.run(
      runOpenLoop({
        rate: 300,
        durationMs: 100,
        clock,
        send: ({ index }) => (index % 3 === 2 ? sleep(clock, 0.5).then(() => ({ status: index % 2 ? 429 : 503 })) : sleep(clock, 10).then(() => ({ status: 200 }))),
      }),
    );
    expect(result.counts.scheduled).toBe(30);
    expect(result.admittedLatency.count).toBe(20);
    expect(result.refusedLatency.count).toBe(10);
    expect(result.admittedLatency.min).toBeCloseTo(10, 6);
    expect(result.refusedLatency.max).toBeCloseTo(0.5, 6);
  });

  it("aborts a request at its timeout and counts rejected and throwing sends as transport errors", async () => {
    const clock = new VirtualClock();
    let aborted = 0;
    const result = await clock.run(
      runOpenLoop({
        rate: 100,
        durationMs: 100,
        clock,
        timeoutMs: 300,
        send: ({ index, signal }) => {
          if (index === 3) {
            return new Promise<Answer>((_resolve, reject) => signal.addEventListener("abort", () => {
              aborted++;
              reject(new Error("aborted"));
            }));
          }
          if (index === 5) return Promise.reject(new Error("ECONNREFUSED"));
          if (index === 6) throw new Error("socket hang up");
          return sleep(clock, 1).then(() => ({ status: 200 }));
        },
      }),
    );
    expect(aborted).toBe(1);
    expect(result.counts).toMatchObject({ scheduled: 10, sent: 10, ok: 7, timeouts: 1, transportErrors: 2 });
    expect(result.errorRate).toBeCloseTo(0.3, 12);
    // The timed-out request was sent at 30 ms and given up at 330 ms; it counts in the tail as 300 ms.
    expect(result.elapsedMs).toBe(330);
    expect(result.latency.count).toBe(8);
    expect(result.latency.max).toBe(300);
  });

  it("refuses options that make no run, naming the field", async () => {
    const send = () => Promise.resolve({ status: 200 });
    await expect(runOpenLoop({ rate: -1, durationMs: 10, send })).rejects.toThrow(/^rate: must be a positive number/);
    await expect(runOpenLoop({ rate: 1, durationMs: 0, send })).rejects.toThrow(/^durationMs:/);
    await expect(runOpenLoop({ rate: 1, durationMs: 10, warmupMs: -5, send })).rejects.toThrow(/^warmupMs:/);
    await expect(runOpenLoop({ rate: 1, durationMs: 10, maxInFlight: 1.5, send })).rejects.toThrow(/^maxInFlight: must be a positive integer/);
    await expect(runOpenLoop({ rate: 1, durationMs: 10, timeoutMs: 0, send })).rejects.toThrow(/^timeoutMs:/);
  });

  it("keeps the schedule on the real clock too", async () => {
    const result = await runOpenLoop({ rate: 200, durationMs: 250, send: () => new Promise((r) => setTimeout(() => r({ status: 200 }), 5)) });
    expect(result.counts).toMatchObject({ scheduled: 50, sent: 50, ok: 50 });
    expect(result.latency.min).toBeGreaterThanOrEqual(4);
  });
});
