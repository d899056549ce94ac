import { defineConfig } from "vitest/config";

// Unit tests: next to the code, no network, fast. Run from a package folder:
// `vitest run --config ../../tooling/vitest/unit.config.ts`.
export default defineConfig({
  test: {
    root: process.cwd(),
    // The JSON report feeds the one-line total that scripts/test prints at the end.
    reporters: ["default", "json"],
    outputFile: { json: ".test-reports/unit.json" },
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/*.int.test.ts", "**/node_modules/**"],
    // Generous: CI runs several packages' suites at once on 2 cores; speed is checked by benches.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    passWithNoTests: false,
  },
});
