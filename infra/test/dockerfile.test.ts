import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containerArgv, execForm, parseDockerfile, resolveStage, substitute, type ResolvedStage } from "./dockerfile";
import { appFolders, DOCKERFILE, HEALTHCHECK_SCRIPT, mounts, packageJson, readCompose, readRepoFile, REPO, words } from "./stack";

const dockerfile = parseDockerfile(readRepoFile(DOCKERFILE));
const compose = readCompose();
const built = Object.entries(compose.services).filter(([, svc]) => svc.build !== undefined);
const lockfile = JSON.parse(readRepoFile("package-lock.json")) as { packages: Record<string, { version?: string }> };
const rootPackage = JSON.parse(readRepoFile("package.json")) as { packageManager: string; engines: { node: string } };

function resolveFor(target: string | undefined, args: Record<string, string>): ResolvedStage {
  return resolveStage(dockerfile, target, args);
}

describe("the Dockerfile reader", () => {
  const sample = parseDockerfile(
    [
      "# syntax=docker/dockerfile:1.7",
      "ARG BASE=1.2.3",
      "FROM img:${BASE} AS one",
      "ENV A=x \\",
      "    # a comment inside a continuation",
      "    B=\"y z\"",
      "WORKDIR /app",
      "USER node",
      "CMD [\"a\", \"b\"]",
      "FROM one AS two",
      "ARG APP",
      "WORKDIR sub/${APP}",
      "ENTRYPOINT [\"run\"]",
      "HEALTHCHECK --interval=5s --retries=2 CMD [\"probe\", \"/healthz\"]",
      "FROM other:9 AS three",
      "CMD echo $A",
    ].join("\n"),
  );

  it("reads stages, global ARGs and joined continuation lines", () => {
    expect(sample.stages.map((s) => s.name)).toEqual(["one", "two", "three"]);
    expect(sample.globalArgs.get("BASE")).toBe("1.2.3");
    expect(sample.stages[0]?.instructions.find((i) => i.keyword === "ENV")?.args).toBe('A=x B="y z"');
  });

  it("inherits USER, WORKDIR and ENV through FROM <stage>, and a new ENTRYPOINT clears CMD", () => {
    const two = resolveStage(sample, "two", { APP: "services/fraud" });
    expect(two.baseImage).toBe("img:1.2.3");
    expect(two.user).toBe("node");
    expect(two.workdir).toBe("/app/sub/services/fraud");
    expect(two.env.get("B")).toBe("y z");
    expect(containerArgv(two)).toEqual(["run"]);
    expect(containerArgv(two, ["x"])).toEqual(["run", "x"]);
    expect(two.healthcheck).toEqual({ options: { interval: "5s", retries: "2" }, command: ["probe", "/healthz"] });
    expect(resolveStage(sample, undefined, { BASE: "4" }).chain.map((s) => s.name)).toEqual(["three"]);
    expect(resolveStage(sample, "three").cmd).toEqual(["/bin/sh", "-c", "echo $A"]);
    expect(resolveStage(sample, "three").user).toBeNull();
  });

  it("substitutes $VAR and ${VAR}, and refuses what it cannot read", () => {
    expect(substitute("a-${X}-$Y-$Z", new Map([["X", "1"], ["Y", "2"]]))).toBe("a-1-2-");
    expect(execForm('["a", "b c"]')).toEqual(["a", "b c"]);
    expect(execForm("a b")).toBeNull();
    expect(() => parseDockerfile("RUN true")).toThrow(/before the first FROM/);
    expect(() => parseDockerfile("FROM x\nFROBNICATE y")).toThrow(/unknown instruction FROBNICATE/);
  });
});

describe("infra/docker/service.Dockerfile", () => {
  it("prunes, installs and runs in separate stages, ending in a service and a cli target", () => {
    expect(dockerfile.stages.map((s) => s.name)).toEqual(["pruner", "installer", "runtime", "cli", "service"]);
    const pruner = resolveFor("pruner", { APP: "services/fraud" });
    expect(pruner.runs.some((r) => /\bturbo prune\b.*--docker/.test(r))).toBe(true);
    const installer = resolveFor("installer", {});
    // The manifests and lockfile come before `npm install` and the sources after, so a source change keeps the install layer.
    const instructions = dockerfile.stages[1]?.instructions ?? [];
    const at = (pred: (args: string) => boolean, keyword: string) => instructions.findIndex((i) => i.keyword === keyword && pred(i.args));
    const npmCi = at((a) => /\bnpm (ci|install)\b/.test(a) && !a.includes("--global"), "RUN");
    expect(npmCi).toBeGreaterThan(at((a) => a.includes("/out/json/"), "COPY"));
    expect(npmCi).toBeLessThan(at((a) => a.includes("/out/full/"), "COPY"));
    // Exactly one install, from the lockfile: no ad-hoc package added on top.
    expect(installer.runs.filter((r) => /\bnpm (ci|install|i)\b(?!.*--global)/.test(r))).toHaveLength(1);
    expect(installer.runs.filter((r) => /\bnpm (install|i) +[^-\s]/.test(r))).toEqual([]);
  });

  it("pins every base image to a full version, Node to the engines' major", () => {
    const nodeVersion = dockerfile.globalArgs.get("NODE_VERSION") ?? "";
    expect(nodeVersion).toMatch(/^\d+\.\d+\.\d+$/);
    const [major = 0, minor = 0] = nodeVersion.split(".").map(Number);
    const required = /^>=(\d+)\.(\d+)/.exec(rootPackage.engines.node);
    expect(major).toBe(Number(required?.[1]));
    expect(minor).toBeGreaterThanOrEqual(Number(required?.[2]));
    for (const stage of dockerfile.stages) {
      const image = resolveStage(dockerfile, stage.name ?? undefined).baseImage;
      expect(image, stage.name ?? "").toMatch(/^node:\d+\.\d+\.\d+-bookworm(-slim)?$/);
    }
  });

  it("installs with the lockfile's turbo and the packageManager's npm", () => {
    expect(resolveFor("pruner", {}).runs.join("\n")).toContain(`turbo@${lockfile.packages["node_modules/turbo"]?.version}`);
    expect(rootPackage.packageManager).toMatch(/^npm@/);
    expect(resolveFor("installer", {}).runs.join("\n")).toContain(rootPackage.packageManager);
  });

  it("runs both targets as the non-root node user on the slim image, listening on all interfaces", () => {
    for (const target of ["service", "cli"]) {
      const stage = resolveFor(target, { APP: "services/fraud", PORT: "8081" });
      expect(stage.baseImage, target).toMatch(/-bookworm-slim$/);
      expect(stage.user, target).toBe("node");
      expect(stage.env.get("HOST"), target).toBe("0.0.0.0");
      expect(stage.workdir, target).toBe("/app/services/fraud");
      expect(stage.env.get("PATH")?.split(":")[0], target).toBe("/app/node_modules/.bin");
    }
  });

  it("checks health with node, not curl or wget, and ships the probe it names", () => {
    const stage = resolveFor("service", { APP: "services/fraud", PORT: "8081" });
    expect(stage.healthcheck?.command).toEqual(["node", HEALTHCHECK_SCRIPT, "/healthz"]);
    expect(stage.env.get("PORT")).toBe("8081");
    expect(stage.exposed).toEqual(["8081"]);
    const copied = stage.copies.find((c) => c.dest === HEALTHCHECK_SCRIPT);
    expect(copied?.from).toBeNull();
    expect(existsSync(join(REPO, copied?.sources[0] ?? "missing"))).toBe(true);
    expect(resolveFor("cli", { APP: "jobs/trainer" }).healthcheck).toBeNull();
  });

  it("starts each compose service with its package.json script", () => {
    for (const [name, svc] of built) {
      const args = svc.build?.args ?? {};
      const stage = resolveFor(svc.build?.target, args);
      const argv = containerArgv(stage, svc.command);
      const scripts = packageJson(args.APP ?? "").scripts ?? {};
      if ((svc.build?.target ?? "service") === "service") {
        expect(svc.command, name).toBeUndefined();
        expect(argv, name).toEqual(words(scripts.start ?? ""));
      } else {
        // A command image: ENTRYPOINT plus the compose command start like one of the package's scripts.
        const matching = Object.entries(scripts).filter(([, script]) => words(script).every((w, i) => argv[i] === w));
        expect(matching.map(([s]) => s), `${name}: ${argv.join(" ")}`).not.toEqual([]);
      }
    }
  });

  it("creates every named-volume mount point of a built service, owned by the runtime user", () => {
    const runtime = resolveFor("service", { APP: "services/fraud", PORT: "8081" });
    const owned = runtime.runs.flatMap((r) => {
      const m = /\binstall -d -o (\S+) -g (\S+) (.+)$/.exec(r);
      return m && m[1] === runtime.user && m[2] === runtime.user ? (m[3] as string).split(" ") : [];
    });
    const targets = new Set(built.flatMap(([, svc]) => mounts(svc).filter((m) => m.named).map((m) => m.target)));
    expect([...targets].sort()).toEqual(["/data", "/logs", "/models", "/reports"]);
    for (const target of targets) expect(owned, target).toContain(target);
  });
});

/** `.dockerignore` patterns as regular expressions over paths relative to the context. */
function dockerignore(): RegExp[] {
  const lines = readRepoFile(".dockerignore")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  expect(lines.filter((l) => l.startsWith("!"))).toEqual([]);
  return lines.map((pattern) => {
    const body = pattern
      .replace(/^\//, "")
      .split("/")
      .map((part) => (part === "**" ? "(?:.*)" : part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")))
      .join("/")
      .replace(/\(\?:\.\*\)\//g, "(?:.*/)?");
    return new RegExp(`^${body}$`);
  });
}

function ignored(path: string, patterns: RegExp[]): boolean {
  const parts = path.split("/");
  return parts.some((_, i) => patterns.some((p) => p.test(parts.slice(0, i + 1).join("/"))));
}

describe(".dockerignore", () => {
  const patterns = dockerignore();

  it("keeps installed, generated and local files out of the build context", () => {
    for (const path of ["node_modules/x", "services/fraud/node_modules/x", ".git/HEAD", ".data/journal", "artifacts/registry/m", "infra/.scratch/a.ts", "packages/ann/.test-reports/unit.json", ".turbo/cache"]) {
      expect(ignored(path, patterns), path).toBe(true);
    }
  });

  it("keeps everything the Dockerfile copies from the context", () => {
    const fromContext = dockerfile.stages.flatMap((s) => resolveStage(dockerfile, s.name ?? undefined).copies).filter((c) => c.from === null);
    const sources = [...new Set(fromContext.flatMap((c) => c.sources))].filter((s) => s !== ".");
    expect(sources.sort()).toEqual(["infra/docker/healthcheck.mjs", "tsconfig.base.json"]);
    for (const path of [...sources, "package.json", "package-lock.json", "turbo.json", "services/fraud/src/main.ts", "packages/service-kit/src/index.ts", "docs/reports/x.md"]) {
      expect(ignored(path, patterns), path).toBe(false);
    }
  });
});

describe("turbo prune output (what the installer stage copies)", () => {
  const out = mkdtempSync(join(tmpdir(), "mlsd-prune-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  const dirs = [...new Set(built.map(([, svc]) => svc.build?.args?.APP ?? ""))].sort();
  const turbo = join(REPO, "node_modules/.bin/turbo");

  beforeAll(async () => {
    await Promise.all(
      dirs.map(
        (dir) =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(turbo, ["prune", packageJson(dir).name, "--docker", "--out-dir", join(out, dir)], {
              cwd: REPO,
              env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
              stdio: ["ignore", "ignore", "pipe"],
            });
            let stderr = "";
            child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
            child.on("error", reject);
            child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`turbo prune ${dir}: ${stderr}`))));
          }),
      ),
    );
  }, 60_000);

  it("has the manifests with the lockfile, and the service's sources", () => {
    expect(dirs).toEqual(appFolders().map((f) => f.dir));
    for (const dir of dirs) {
      for (const file of ["json/package.json", "json/package-lock.json", `json/${dir}/package.json`, `full/${dir}/package.json`]) {
        expect(existsSync(join(out, dir, file)), `${dir}: ${file}`).toBe(true);
      }
      const entry = packageJson(dir).scripts?.start ?? "tsx src/cli.ts";
      expect(existsSync(join(out, dir, "full", dir, words(entry)[1] ?? "")), `${dir}: ${entry}`).toBe(true);
    }
  });

  it("resolves every tsconfig `extends` in the image, with the file the Dockerfile adds", () => {
    const added = new Set(resolveFor("installer", {}).copies.filter((c) => c.from === null).map((c) => posix.join("/app", c.dest, c.dest.endsWith("/") ? (c.sources[0] ?? "") : "")));
    for (const dir of dirs) {
      const root = join(out, dir, "full");
      const manifest = JSON.parse(readFileSync(join(out, dir, "json/package.json"), "utf8")) as { workspaces: string[] };
      for (const workspace of manifest.workspaces) {
        const tsconfig = join(root, workspace, "tsconfig.json");
        if (!existsSync(tsconfig)) continue;
        const extendsPath = (JSON.parse(readFileSync(tsconfig, "utf8")) as { extends?: string }).extends;
        if (!extendsPath) continue;
        const inImage = posix.join("/app", workspace, extendsPath);
        const present = existsSync(join(root, workspace, extendsPath)) || added.has(inImage);
        expect(present, `${dir}: ${workspace}/tsconfig.json extends ${extendsPath} (${inImage})`).toBe(true);
        expect(existsSync(join(dirname(join(REPO, workspace, "tsconfig.json")), extendsPath)), `${workspace}: ${extendsPath} exists in the repo`).toBe(true);
      }
    }
  });
});
