import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { parentPort, Worker, type Transferable } from "node:worker_threads";

// Worker threads that run a TypeScript module of this repository. The packages ship TypeScript
// run by tsx, and a worker does not inherit tsx's loader (tsx registers it on the main thread
// only), so each worker registers tsx's ESM hooks itself before importing its module. Vitest does
// not pass through tsx either, and the same bootstrap serves both.

interface TaskMessage<T> {
  id: number;
  task: T;
}
type ReplyMessage<R> = { id: number; ok: true; result: R } | { id: number; ok: false; message: string; stack?: string };

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/** A task's answer and the buffers to move to the caller instead of copying. */
export interface Reply<R> {
  result: R;
  transfer?: Transferable[];
}

/**
 * The worker side: answers each task message with `handle`'s result (or its error's message).
 * Call it at the top level of the module a WorkerPool runs.
 */
export function serveTasks<T, R>(handle: (task: T) => Promise<Reply<R>> | Reply<R>): void {
  const port = parentPort;
  if (!port) throw new Error("serveTasks runs inside a worker thread");
  port.on("message", (message: TaskMessage<T>) => {
    void (async () => {
      try {
        const { result, transfer } = await handle(message.task);
        port.postMessage({ id: message.id, ok: true, result } satisfies ReplyMessage<R>, transfer ?? []);
      } catch (error) {
        const e = asError(error);
        port.postMessage({ id: message.id, ok: false, message: e.message, ...(e.stack ? { stack: e.stack } : {}) } satisfies ReplyMessage<R>);
      }
    })();
  });
}

/** tsx's ESM API, found through its package.json so that it resolves the same under tsx and vitest. */
function tsxEsmApi(): string {
  const manifest = createRequire(import.meta.url).resolve("tsx/package.json");
  const exports = (JSON.parse(readFileSync(manifest, "utf8")) as { exports: Record<string, { import: { default: string } }> }).exports;
  const entry = exports["./esm/api"]?.import.default;
  if (!entry) throw new Error(`tsx at ${dirname(manifest)} does not export ./esm/api`);
  return pathToFileURL(join(dirname(manifest), entry)).href;
}

const bootstrap = (module: URL): string =>
  `import(${JSON.stringify(tsxEsmApi())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(module.href)}); });`;

interface Pending<T, R> {
  id: number;
  task: T;
  transfer: Transferable[];
  resolve: (result: R) => void;
  reject: (error: Error) => void;
}

interface Slot<T, R> {
  worker: Worker;
  running: Pending<T, R> | null;
}

/** The default pool size: the machine's cores. */
export const defaultWorkers = (): number => availableParallelism();

/**
 * A fixed number of worker threads running one module (which calls `serveTasks`), each doing one
 * task at a time; tasks queue in the order they were submitted. Threads start on first use and
 * do not keep the process alive while idle. A thread that dies fails its task and is replaced.
 */
export class WorkerPool<T, R> {
  private readonly slots: Slot<T, R>[] = [];
  private readonly queue: Pending<T, R>[] = [];
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly module: URL,
    readonly size: number,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`workers: must be an integer >= 1, got ${size}`);
  }

  run(task: T, transfer: Transferable[] = []): Promise<R> {
    if (this.closed) return Promise.reject(new Error("the worker pool is closed"));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, transfer, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every thread; queued and running tasks fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new Error("the worker pool is closed"));
    const slots = this.slots.splice(0);
    for (const s of slots) s.running?.reject(new Error("the worker pool is closed"));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.running === null);
      if (!slot && this.slots.length < this.size) {
        try {
          slot = this.spawn();
        } catch (error) {
          // No thread can start (tsx not found, say): every queued task fails with the reason.
          for (const p of this.queue.splice(0)) p.reject(asError(error));
          return;
        }
      }
      if (!slot) return;
      const next = this.queue.shift() as Pending<T, R>;
      try {
        slot.worker.postMessage({ id: next.id, task: next.task } satisfies TaskMessage<T>, next.transfer);
      } catch (error) {
        // A task that cannot be copied to a thread (a function in it, say) fails alone.
        next.reject(asError(error));
        continue;
      }
      slot.running = next;
      slot.worker.ref();
    }
  }

  private spawn(): Slot<T, R> {
    const worker = new Worker(bootstrap(this.module), { eval: true });
    const slot: Slot<T, R> = { worker, running: null };
    worker.on("message", (reply: ReplyMessage<R>) => {
      const running = slot.running;
      if (!running || running.id !== reply.id) return;
      slot.running = null;
      worker.unref();
      if (reply.ok) running.resolve(reply.result);
      else running.reject(Object.assign(new Error(reply.message), reply.stack ? { stack: reply.stack } : {}));
      this.dispatch();
    });
    const fail = (error: Error) => {
      const index = this.slots.indexOf(slot);
      if (index < 0) return;
      this.slots.splice(index, 1);
      slot.running?.reject(error);
      slot.running = null;
      void worker.terminate();
      if (!this.closed) this.dispatch();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`a worker thread exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }
}
