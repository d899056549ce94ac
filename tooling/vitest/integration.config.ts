import { defineConfig } from "vitest/config";

// Integration tests: `*.int.test.ts`, against real Redis and Kafka from @mlsd/testkit.
// Files run one after another: a 2-core machine shared with a broker does not gain from
// parallel files, and one broker per run keeps the numbers honest.
export default defineConfig({
  test: {
    root: process.cwd(),
    // The JSON report feeds the one-line total that scripts/test prints at the end.
    reporters: ["default", "json"],
    outputFile: { json: ".test-reports/integration.json" },
    include: ["src/**/*.int.test.ts", "test/**/*.int.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    pool: "forks",
  },
});
