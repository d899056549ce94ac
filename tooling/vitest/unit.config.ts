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
    testTimeout: 20_000,
    passWithNoTests: false,
  },
});
