import * as tf from "@tensorflow/tfjs";
import { useFastSegmentSum } from "./segment-sum";

export type BackendLog = (line: string) => void;

let selected: Promise<string> | undefined;

/**
 * Picks the fastest backend present: tfjs-node (native TensorFlow) when it is installed, else the
 * pure-JS cpu backend with the scatter-add UnsortedSegmentSum kernel. tfjs-node is optional: its
 * install downloads libtensorflow, which not every machine can do. Logs one line, once.
 */
export function initBackend(log: BackendLog = (line) => console.info(line)): Promise<string> {
  selected ??= select(log);
  return selected;
}

async function select(log: BackendLog): Promise<string> {
  const nodeBackend = await tryNodeBackend();
  if (nodeBackend !== undefined) {
    log(`two-tower: tfjs backend "${nodeBackend}" (tfjs-node, native TensorFlow)`);
    return nodeBackend;
  }
  await tf.setBackend("cpu");
  await tf.ready();
  // The cpu backend prints a multi-line banner recommending tfjs-node on its first tensor; the
  // line below already says which backend runs and why.
  const cpu = tf.backend() as unknown as { firstUse?: boolean };
  if (cpu.firstUse === true) cpu.firstUse = false;
  useFastSegmentSum();
  log('two-tower: tfjs backend "cpu" (pure JS; tfjs-node not installed) with the scatter-add UnsortedSegmentSum kernel');
  return "cpu";
}

async function tryNodeBackend(): Promise<string | undefined> {
  // A variable specifier keeps TypeScript and bundlers from resolving a package that may be absent.
  const specifier = "@tensorflow/tfjs-node";
  try {
    await import(/* @vite-ignore */ specifier);
  } catch {
    return undefined;
  }
  if (!(await tf.setBackend("tensorflow"))) return undefined;
  await tf.ready();
  return "tensorflow";
}

/** The backend tfjs runs on ("tensorflow" or "cpu" after initBackend). */
export function backendName(): string {
  return tf.getBackend();
}
