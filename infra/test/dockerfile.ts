/**
 * A Dockerfile reader for static checks: instructions (line continuations joined, comments and
 * parser directives dropped), build stages, ARG defaults and substitution, and the configuration a
 * target stage ends up with after inheriting from the stages it is built FROM.
 */

export interface Instruction {
  keyword: string;
  /** The text after the keyword, continuations joined with single spaces. */
  args: string;
  line: number;
}

export interface Stage {
  name: string | null;
  index: number;
  /** The FROM argument as written (before substitution). */
  from: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Map<string, string | undefined>;
  stages: Stage[];
}

export class DockerfileError extends Error {
  constructor(line: number, message: string) {
    super(`Dockerfile line ${line}: ${message}`);
    this.name = "DockerfileError";
  }
}

const KEYWORDS = new Set([
  "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
]);

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.split("\n");
  const instructions: Instruction[] = [];
  for (let i = 0; i < lines.length; i++) {
    const first = i;
    let line = lines[i] as string;
    if (/^\s*(#|$)/.test(line)) continue;
    let joined = "";
    // A trailing backslash continues the instruction; comment lines inside it are skipped.
    while (/\\\s*$/.test(line)) {
      joined += line.replace(/\\\s*$/, " ");
      i++;
      while (i < lines.length && /^\s*#/.test(lines[i] as string)) i++;
      line = lines[i] ?? "";
    }
    joined += line;
    const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(joined);
    if (!match) throw new DockerfileError(first + 1, `cannot read "${joined.trim()}"`);
    const keyword = (match[1] as string).toUpperCase();
    if (!KEYWORDS.has(keyword)) throw new DockerfileError(first + 1, `unknown instruction ${keyword}`);
    instructions.push({ keyword, args: (match[2] as string).replace(/\s+/g, " ").trim(), line: first + 1 });
  }

  const globalArgs = new Map<string, string | undefined>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new DockerfileError(ins.line, `cannot read FROM ${ins.args}`);
      stages.push({ name: m[2] ?? null, index: stages.length, from: m[1] as string, instructions: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) {
      if (ins.keyword !== "ARG") throw new DockerfileError(ins.line, `${ins.keyword} before the first FROM`);
      const [name, value] = splitArg(ins.args);
      globalArgs.set(name, value);
      continue;
    }
    stage.instructions.push(ins);
  }
  if (stages.length === 0) throw new DockerfileError(1, "no FROM");
  return { globalArgs, stages };
}

function splitArg(args: string): [string, string | undefined] {
  const eq = args.indexOf("=");
  return eq < 0 ? [args.trim(), undefined] : [args.slice(0, eq).trim(), unquote(args.slice(eq + 1).trim())];
}

function unquote(value: string): string {
  return /^".*"$/.test(value) ? value.slice(1, -1) : value;
}

/** `$NAME` and `${NAME}` replaced from `vars`; unknown names become "" as in a build. */
export function substitute(text: string, vars: Map<string, string | undefined>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, braced: string | undefined, bare: string | undefined) => vars.get((braced ?? bare) as string) ?? "");
}

/** An exec-form (JSON array) argument, or null for the shell form. */
export function execForm(args: string): string[] | null {
  if (!args.startsWith("[")) return null;
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === "string")) throw new Error(`not a JSON string array: ${args}`);
  return parsed;
}

export interface Healthcheck {
  options: Record<string, string>;
  command: string[] | string;
}

/** What a container started from a target stage runs with, after inheritance through FROM <stage>. */
export interface ResolvedStage {
  /** The stages from the external base image down to the target. */
  chain: Stage[];
  /** The external image the chain starts from, ARGs substituted. */
  baseImage: string;
  user: string | null;
  workdir: string;
  env: Map<string, string>;
  entrypoint: string[] | null;
  cmd: string[] | null;
  healthcheck: Healthcheck | null;
  /** Every RUN, COPY and EXPOSE along the chain, ARGs substituted. */
  runs: string[];
  copies: { from: string | null; sources: string[]; dest: string }[];
  exposed: string[];
}

export function findStage(file: Dockerfile, name?: string): Stage {
  const stage = name === undefined ? file.stages[file.stages.length - 1] : file.stages.find((s) => s.name === name);
  if (!stage) throw new Error(`no stage named ${name}`);
  return stage;
}

function parseHealthcheck(args: string): Healthcheck | null {
  if (/^NONE$/i.test(args)) return null;
  const options: Record<string, string> = {};
  let rest = args;
  for (;;) {
    const m = /^--([a-z-]+)=(\S+)\s+/.exec(rest);
    if (!m) break;
    options[m[1] as string] = m[2] as string;
    rest = rest.slice(m[0].length);
  }
  const cmd = /^CMD\s+(.*)$/i.exec(rest);
  if (!cmd) throw new Error(`HEALTHCHECK without CMD: ${args}`);
  return { options, command: execForm(cmd[1] as string) ?? (cmd[1] as string) };
}

/**
 * Resolves a target stage with the given build arguments: ARG defaults apply unless the build
 * passes a value, ENV feeds later substitutions, and USER, WORKDIR, ENV, ENTRYPOINT, CMD and
 * HEALTHCHECK carry over from a parent stage.
 */
export function resolveStage(file: Dockerfile, target?: string, buildArgs: Record<string, string> = {}): ResolvedStage {
  const chain: Stage[] = [];
  let stage: Stage | undefined = findStage(file, target);
  while (stage) {
    chain.unshift(stage);
    const parentName: string = stage.from;
    stage = file.stages.find((s) => s.name === parentName && s.index < (chain[0] as Stage).index);
  }
  const globals = new Map<string, string | undefined>();
  for (const [k, v] of file.globalArgs) globals.set(k, buildArgs[k] ?? v);
  const out: ResolvedStage = {
    chain,
    baseImage: substitute((chain[0] as Stage).from, globals),
    user: null,
    workdir: "/",
    env: new Map(),
    entrypoint: null,
    cmd: null,
    healthcheck: null,
    runs: [],
    copies: [],
    exposed: [],
  };
  for (const s of chain) {
    // Each stage sees only the ARGs it declares (globals included only when re-declared) and the ENV it inherits.
    const vars = new Map<string, string | undefined>(out.env);
    for (const ins of s.instructions) {
      const args = substitute(ins.args, vars);
      switch (ins.keyword) {
        case "ARG": {
          const [name, value] = splitArg(ins.args);
          vars.set(name, buildArgs[name] ?? (value !== undefined ? substitute(value, vars) : globals.get(name)));
          break;
        }
        case "ENV":
          for (const m of ins.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) {
            const value = substitute(unquote(m[2] as string), vars);
            out.env.set(m[1] as string, value);
            vars.set(m[1] as string, value);
          }
          break;
        case "USER":
          out.user = args;
          break;
        case "WORKDIR":
          out.workdir = args.startsWith("/") ? args : `${out.workdir.replace(/\/$/, "")}/${args}`;
          break;
        // Docker leaves these to the shell at run time: no build-time substitution.
        case "ENTRYPOINT":
          out.entrypoint = execForm(ins.args) ?? ["/bin/sh", "-c", ins.args];
          // As in Docker: a new ENTRYPOINT clears an inherited CMD.
          out.cmd = null;
          break;
        case "CMD":
          out.cmd = execForm(ins.args) ?? ["/bin/sh", "-c", ins.args];
          break;
        case "HEALTHCHECK":
          out.healthcheck = parseHealthcheck(ins.args);
          break;
        case "RUN":
          out.runs.push(args);
          break;
        case "COPY":
        case "ADD": {
          const words = args.split(" ");
          const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length) ?? null;
          const paths = words.filter((w) => !w.startsWith("--"));
          out.copies.push({ from, sources: paths.slice(0, -1), dest: paths[paths.length - 1] ?? "" });
          break;
        }
        case "EXPOSE":
          out.exposed.push(...args.split(" "));
          break;
      }
    }
  }
  return out;
}

/** The argv a container of this stage runs: ENTRYPOINT followed by CMD (or the compose command). */
export function containerArgv(stage: ResolvedStage, command?: string[]): string[] {
  return [...(stage.entrypoint ?? []), ...(command ?? stage.cmd ?? [])];
}
