import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { LoadgenInputError } from "./errors";

/** Which CPUs the generator and the system under test run on. */
export interface PinPlan {
  generator: string;
  target: string;
}

/** A process and the CPUs it may run on, read back from the kernel after any pinning. */
export interface Placement {
  role: string;
  pid: number;
  cpus: string;
  pinned: boolean;
}

/** The CPUs a process may run on (`Cpus_allowed_list` in /proc), e.g. "0-1"; null if unreadable. */
export function allowedCpus(pid: number | "self" = "self"): string | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Expands a CPU list ("0-2,5") into CPU numbers. */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new LoadgenInputError("cpus", `"${list}" is not a CPU list like 0 or 1-3 or 0,2`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new LoadgenInputError("cpus", `"${part}" runs backwards`);
    for (let c = from; c <= to; c++) cpus.push(c);
  }
  return cpus;
}

/**
 * Reads `--pin`: "auto" gives the generator the first CPU this process may use and the target the
 * rest; "G:T" names both lists. Null when the machine has one CPU (nothing to separate). The two
 * lists must not overlap, or pinning would only hide the contention it is meant to remove.
 */
export function planPinning(spec: string, available: string | null): PinPlan | null {
  const cpus = parseCpuList(available ?? "0");
  if (spec === "auto") {
    if (cpus.length < 2) return null;
    const [first, ...rest] = cpus;
    return { generator: String(first), target: rest.join(",") };
  }
  const m = /^([^:]+):([^:]+)$/.exec(spec);
  if (!m) throw new LoadgenInputError("--pin", `must be auto or GENERATOR_CPUS:TARGET_CPUS (e.g. 0:1), got "${spec}"`);
  const generator = parseCpuList(m[1] as string);
  const target = parseCpuList(m[2] as string);
  const overlap = generator.filter((c) => target.includes(c));
  if (overlap.length > 0) throw new LoadgenInputError("--pin", `the generator and the target share CPU ${overlap.join(", ")}`);
  for (const c of [...generator, ...target]) {
    if (!cpus.includes(c)) throw new LoadgenInputError("--pin", `CPU ${c} is not one this process may use (${available})`);
  }
  return { generator: m[1] as string, target: m[2] as string };
}

/** Pins every thread of a running process (and the threads it starts later) to `cpus` with taskset. */
export function pinProcess(pid: number, cpus: string): void {
  try {
    execFileSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === "ENOENT") throw new LoadgenInputError("--pin", "needs taskset (util-linux), which is not installed");
    throw new LoadgenInputError("--pin", `taskset could not pin pid ${pid} to CPUs ${cpus}: ${e.stderr?.toString().trim() || e.message}`);
  }
}

export function placement(role: string, pid: number, pinned: boolean): Placement {
  return { role, pid, cpus: allowedCpus(pid) ?? "unknown", pinned };
}
