import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/** Readers for the files that describe the stack: docker-compose.yml, the Dockerfile, the services' manifests and configs. */

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const DOCKERFILE = "infra/docker/service.Dockerfile";
export const HEALTHCHECK_SCRIPT = "/usr/local/lib/mlsd/healthcheck.mjs";

export interface ComposeBuild {
  context: string;
  dockerfile: string;
  target?: string;
  args?: Record<string, string>;
}

export interface ComposeService {
  image?: string;
  build?: ComposeBuild;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] | string; retries?: number };
  depends_on?: Record<string, { condition?: string }>;
  restart?: string;
  profiles?: string[];
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** The env file that selects the cluster profile's nodes (`--env-file`). */
export const CLUSTER_ENV_FILE = "infra/cluster.env";
export const CLUSTER_PROFILE = "cluster";

/** `KEY=value` lines of a compose env file (comments and blank lines skipped). */
export function readEnvFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readRepoFile(path).split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq < 1) throw new Error(`${path}: "${line}" is not KEY=value`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

const VARIABLE = /\$\$|\$\{([A-Za-z_]\w*)(?:(:?-)([^}]*))?\}|\$\{([^}]*)\}/g;

/** Compose's interpolation of the forms docker-compose.yml uses: `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}` (unset), `$$`. */
export function interpolate(value: string, env: Readonly<Record<string, string>>): string {
  return value.replace(VARIABLE, (match, name?: string, op?: string, fallback?: string, other?: string) => {
    if (match === "$$") return "$";
    if (other !== undefined) throw new Error(`"${match}": an interpolation form these checks do not read`);
    const set = env[name as string];
    if (op === ":-") return set === undefined || set === "" ? (fallback as string) : set;
    if (op === "-") return set ?? (fallback as string);
    return set ?? "";
  });
}

function interpolateAll(value: unknown, env: Readonly<Record<string, string>>): unknown {
  if (typeof value === "string") return interpolate(value, env);
  if (Array.isArray(value)) return value.map((v) => interpolateAll(v, env));
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, env)]));
  return value;
}

/** docker-compose.yml as parsed, merge keys (`<<`) applied, nothing interpolated. */
export function readComposeText(): ComposeFile {
  return parse(readFileSync(join(REPO, "docker-compose.yml"), "utf8"), { merge: true }) as ComposeFile;
}

/**
 * docker-compose.yml as compose resolves it. Default: `docker compose up` with no variables set,
 * the services of the cluster profile left out (the other profiles' jobs stay: they run beside the
 * default stack). `cluster`: every service, with the variables of infra/cluster.env.
 */
export function readCompose(options: { cluster?: boolean } = {}): ComposeFile {
  const raw = readComposeText();
  const env = options.cluster ? readEnvFile(CLUSTER_ENV_FILE) : {};
  const services = Object.entries(raw.services).filter(([, svc]) => options.cluster || !(svc.profiles ?? []).includes(CLUSTER_PROFILE));
  return { ...raw, services: interpolateAll(Object.fromEntries(services), env) as Record<string, ComposeService> };
}

/**
 * Debian's docker-compose (1.29) resolves and validates the file without a Docker engine
 * (scripts/ensure-deps installs it). It runs with the caller's environment (`shell`, the test's
 * process.env) less its MLSD_* variables, so the result is the file's own.
 */
export function dockerCompose(args: readonly string[], options: { shell: NodeJS.ProcessEnv; file?: string; profile?: string; envFile?: string }): { status: number | null; output: string; stdout: string } {
  const env = Object.fromEntries(Object.entries(options.shell).filter(([k]) => !k.startsWith("MLSD_")));
  const flags = [...(options.profile ? ["--profile", options.profile] : []), ...(options.envFile ? ["--env-file", join(REPO, options.envFile)] : [])];
  const result = spawnSync("docker-compose", ["-f", options.file ?? join(REPO, "docker-compose.yml"), "--project-directory", REPO, ...flags, ...args], {
    encoding: "utf8",
    env: { ...env, COMPOSE_PROJECT_NAME: "mlsd-lab" },
  });
  if (result.error) throw new Error(`docker-compose is not installed (bash scripts/ensure-deps): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}`, stdout: result.stdout };
}

export function readRepoFile(path: string): string {
  return readFileSync(join(REPO, path), "utf8");
}

export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
  named: boolean;
}

export function mounts(service: ComposeService): Mount[] {
  return (service.volumes ?? []).map((spec) => {
    const [source = "", target = "", mode] = spec.split(":");
    return { source, target, readOnly: mode === "ro", named: !source.startsWith(".") && !source.startsWith("/") };
  });
}

/** The mount a container path lies on (the deepest one), if any. */
export function mountOf(service: ComposeService, path: string): Mount | undefined {
  return mounts(service)
    .filter((m) => path === m.target || path.startsWith(`${m.target}/`))
    .sort((a, b) => b.target.length - a.target.length)[0];
}

/**
 * The folders of services/ (long-running processes) and jobs/ (one-shot jobs and tools), as
 * repository-relative paths, and what they run: a server (src/main.ts) or a command (src/cli.ts).
 */
export function appFolders(): { dir: string; kind: "server" | "cli" }[] {
  return ["services", "jobs"]
    .flatMap((top) =>
      readdirSync(join(REPO, top), { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => `${top}/${d.name}`),
    )
    .sort()
    .flatMap((dir): { dir: string; kind: "server" | "cli" }[] => {
      if (existsSync(join(REPO, dir, "src/main.ts"))) return [{ dir, kind: "server" as const }];
      if (existsSync(join(REPO, dir, "src/cli.ts"))) return [{ dir, kind: "cli" as const }];
      return [];
    });
}

export interface PackageJson {
  name: string;
  scripts?: Record<string, string>;
}

export function packageJson(dir: string): PackageJson {
  return JSON.parse(readRepoFile(`${dir}/package.json`)) as PackageJson;
}

/** What the checks need of a service's zod config schema. */
export interface ConfigSchemaLike {
  shape: Record<string, { parse(value: unknown): unknown }>;
  safeParse(env: unknown): { success: true; data: Record<string, unknown> } | { success: false; error: { issues: { path: (string | number)[]; message: string }[] } };
}

/** The service's config schema: the export of src/config.ts named `*ConfigSchema` that has a PORT. */
export async function configSchema(dir: string): Promise<ConfigSchemaLike> {
  const module = (await import(/* @vite-ignore */ join(REPO, dir, "src/config.ts"))) as Record<string, unknown>;
  const found = Object.entries(module).filter(([name, value]) => name.endsWith("ConfigSchema") && (value as ConfigSchemaLike | null)?.shape?.PORT !== undefined);
  if (found.length !== 1) throw new Error(`${dir}/src/config.ts: expected one *ConfigSchema with a PORT, found ${found.map(([n]) => n).join(", ") || "none"}`);
  return (found[0] as [string, ConfigSchemaLike])[1];
}

export function defaultPort(schema: ConfigSchemaLike): number {
  return Number(schema.shape.PORT?.parse(undefined));
}

/** Splits a package.json script into words (the scripts here are plain commands). */
export function words(script: string): string[] {
  return script.trim().split(/\s+/);
}
