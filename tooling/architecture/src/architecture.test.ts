import { builtinModules } from "node:module";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const TOPS = ["packages", "services", "jobs", "tooling", "infra", "lab"] as const;

interface Workspace {
  dir: string;
  name: string;
  dependencies: Set<string>;
  devDependencies: Set<string>;
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, "utf8")) as T;
}

function workspaces(): Workspace[] {
  const dirs = TOPS.flatMap((top) => {
    const base = path.join(ROOT, top);
    if (!existsSync(base)) return [];
    if (existsSync(path.join(base, "package.json"))) return [top];
    return readdirSync(base)
      .map((d) => path.join(top, d))
      .filter((d) => existsSync(path.join(ROOT, d, "package.json")));
  });
  return dirs.map((dir) => {
    const pkg = readJson<{ name: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string> }>(path.join(ROOT, dir, "package.json"));
    return { dir, name: pkg.name, dependencies: new Set(Object.keys(pkg.dependencies ?? {})), devDependencies: new Set(Object.keys(pkg.devDependencies ?? {})) };
  });
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      if (entry === "node_modules" || entry.startsWith(".")) continue;
      const full = path.join(d, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.(ts|mjs|js)$/.test(entry) && !entry.endsWith(".d.ts")) out.push(full);
    }
  };
  walk(path.join(ROOT, dir));
  return out;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^"'`;]*?from\s*["']([^"']+)["']|(?:^|[\s(])import\s*\(\s*["']([^"']+)["']\s*\)|^\s*import\s+["']([^"']+)["']/gm;

/** The bare package names a file imports (no relative paths, no node builtins). */
function importedPackages(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const names = new Set<string>();
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec || spec.startsWith(".") || spec.startsWith("node:") || spec.startsWith("/")) continue;
    const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] as string);
    if (builtinModules.includes(name)) continue;
    names.add(name);
  }
  return [...names];
}

/** Tests, their fixtures and shared contract suites, benchmarks and tool configuration: they may use dev dependencies. */
const isTestOrBench = (file: string) => /\.test\.ts$|\.test-helper\.ts$|\.contract\.ts$|test-fixtures\.ts$|[/\\](bench|test|fixtures|testing)[/\\]|\.config\.ts$/.test(file);

describe("the layout", () => {
  const all = workspaces();
  const services = all.filter((w) => w.dir.startsWith("services/"));
  const serviceNames = new Set(services.map((w) => w.name));

  it("names every service @mlsd/<name>-service, and nothing else so", () => {
    expect(services.length).toBeGreaterThanOrEqual(6);
    for (const s of services) expect(s.name, s.dir).toBe(`@mlsd/${path.basename(s.dir)}-service`);
    for (const w of all.filter((x) => !x.dir.startsWith("services/"))) expect(w.name.endsWith("-service"), w.dir).toBe(false);
  });

  it("has no production import of a service from a service, a job or a library", () => {
    const offending: string[] = [];
    for (const w of all.filter((x) => /^(services|jobs|packages)\//.test(x.dir))) {
      for (const file of sourceFiles(w.dir).filter((f) => !isTestOrBench(f))) {
        for (const name of importedPackages(file)) if (serviceNames.has(name) && name !== w.name) offending.push(`${path.relative(ROOT, file)} imports ${name}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it("has no production import of a job or tool from a service or a library, nor of a service from the dashboards' generator", () => {
    const tools = new Set(all.filter((x) => /^(jobs|lab|tooling)/.test(x.dir)).map((x) => x.name));
    const offending: string[] = [];
    for (const w of all.filter((x) => /^(services|packages)\//.test(x.dir))) {
      for (const file of sourceFiles(w.dir).filter((f) => !isTestOrBench(f))) {
        for (const name of importedPackages(file)) if (tools.has(name)) offending.push(`${path.relative(ROOT, file)} imports ${name}`);
      }
    }
    for (const file of sourceFiles("infra/grafana")) {
      for (const name of importedPackages(file)) if (serviceNames.has(name) || tools.has(name)) offending.push(`${path.relative(ROOT, file)} imports ${name}`);
    }
    expect(tools.has("@mlsd/loadgen")).toBe(true);
    expect(offending).toEqual([]);
  });

  it("declares every package a workspace imports (production code in dependencies)", () => {
    const root = readJson<{ devDependencies?: Record<string, string> }>(path.join(ROOT, "package.json"));
    const rootDev = new Set(Object.keys(root.devDependencies ?? {}));
    const missing: string[] = [];
    for (const w of all) {
      for (const file of sourceFiles(w.dir)) {
        const test = isTestOrBench(file) || w.dir === "infra" || w.dir.startsWith("tooling/");
        for (const name of importedPackages(file)) {
          if (name === w.name || w.dependencies.has(name)) continue;
          if (test && (w.devDependencies.has(name) || rootDev.has(name))) continue;
          missing.push(`${w.name}: ${path.relative(ROOT, file)} imports ${name}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it("exports only files that exist", () => {
    const broken: string[] = [];
    for (const w of all) {
      const pkg = readJson<{ exports?: Record<string, string> }>(path.join(ROOT, w.dir, "package.json"));
      for (const [subpath, target] of Object.entries(pkg.exports ?? {})) if (!existsSync(path.join(ROOT, w.dir, target))) broken.push(`${w.name} ${subpath} -> ${target}`);
    }
    expect(broken).toEqual([]);
  });

  it("writes each registry model's name and file literal once, in its format", () => {
    const literals = ['"fraud-gbdt"', '"ranker-gbdt"', '"recs-popularity"', '"model.json"', '"drift-reference.json"', '"popularity.json"'];
    const places = new Map<string, string[]>(literals.map((l) => [l, []]));
    for (const w of all.filter((x) => /^(services|jobs|packages|infra|tooling)/.test(x.dir))) {
      // The contracts' example payloads are documentation by example, not a second owner.
      for (const file of sourceFiles(w.dir).filter((f) => !isTestOrBench(f) && !f.endsWith("contracts/src/events/examples.ts"))) {
        const text = readFileSync(file, "utf8");
        for (const l of literals) if (text.includes(l)) places.get(l)!.push(path.relative(ROOT, file));
      }
    }
    for (const [literal, files] of places) {
      expect(files.length, `${literal} in ${files.join(", ")}`).toBeLessThanOrEqual(1);
      for (const f of files) expect(f.startsWith("packages/model-formats/"), `${literal} in ${f}`).toBe(true);
    }
  });
});

describe("the lint rule that enforces it", () => {
  const eslint = new ESLint({ cwd: ROOT });
  const lint = async (relative: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, relative) });
    return (result?.messages ?? []).filter((m) => m.ruleId === "no-restricted-imports").length;
  };

  it("fails a service that imports another service, by package or by path", async () => {
    expect(await lint("services/fraud/src/new-file.ts", 'import { rankerService } from "@mlsd/ranker-service";\nexport const x = rankerService;\n')).toBe(1);
    expect(await lint("services/fraud/src/new-file.ts", 'import { x } from "../../ranker/src/app";\nexport const y = x;\n')).toBe(1);
    expect(await lint("jobs/trainer/src/new-file.ts", 'import { retrievalService } from "@mlsd/retrieval-service";\nexport const x = retrievalService;\n')).toBe(1);
    expect(await lint("infra/grafana/new-file.ts", 'import { DriftMonitorConfigSchema } from "@mlsd/drift-monitor-service";\nexport const x = DriftMonitorConfigSchema;\n')).toBe(1);
  });

  it("fails a service that imports a job or a tool", async () => {
    expect(await lint("services/console/src/new-file.ts", 'import { loadBudgets } from "@mlsd/loadgen";\nexport const x = loadBudgets;\n')).toBe(1);
    expect(await lint("services/console/src/new-file.ts", 'import { runWorld } from "@mlsd/world";\nexport const x = runWorld;\n')).toBe(1);
    expect(await lint("services/console/src/new-file.ts", 'import { loadBudgets } from "@mlsd/budgets";\nexport const x = loadBudgets;\n')).toBe(0);
  });

  it("fails a library that imports a job, and lets tests and benchmarks start services", async () => {
    expect(await lint("packages/gbdt/src/new-file.ts", 'import { trainFraud } from "@mlsd/trainer/src/fraud/pipeline";\nexport const x = trainFraud;\n')).toBe(1);
    expect(await lint("services/recommender/src/new.int.test.ts", 'import { rankerService } from "@mlsd/ranker-service";\nexport const x = rankerService;\n')).toBe(0);
    expect(await lint("services/recommender/bench/new.ts", 'import { retrievalService } from "@mlsd/retrieval-service";\nexport const x = retrievalService;\n')).toBe(0);
  });
});
