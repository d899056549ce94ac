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

export function readCompose(): ComposeFile {
  return parse(readFileSync(join(REPO, "docker-compose.yml"), "utf8")) as ComposeFile;
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
