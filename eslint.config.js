import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * The architecture as a rule: libraries (packages/) import no process, and no production file
 * of a service or a job imports a service. Services meet through @mlsd/contracts over HTTP and
 * Kafka, and training meets serving through @mlsd/model-formats; reaching into another service's
 * module graph would load its dependencies (hnswlib, tfjs, kafkajs) into the wrong process.
 * Tests and benchmarks may start other services in-process.
 */
const SERVICE_IMPORTS = {
  group: ["@mlsd/*-service", "@mlsd/*-service/*", "**/services/*/src/**", "../../*/src/**", "../../../*/src/**"],
  message: "A service is a process, not a library: talk to it through @mlsd/contracts, or lift the shared code into a package.",
};
/** Jobs and tools run and exit; neither a library nor a long-running service may depend on one. */
const JOB_IMPORTS = {
  group: ["@mlsd/trainer", "@mlsd/trainer/*", "@mlsd/loadgen", "@mlsd/loadgen/*", "@mlsd/lab", "@mlsd/lab/*", "@mlsd/demo", "@mlsd/demo/*", "@mlsd/world", "@mlsd/world/*", "**/jobs/*/src/*", "**/jobs/*/src/**"],
  message: "Libraries and services may not depend on a job or a tool: move what both need into a package.",
};
const TESTS_AND_BENCHES = ["**/*.test.ts", "**/*.test-helper.ts", "**/test-fixtures.ts", "**/bench/**", "**/test/**"];

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/dist/**", "**/.turbo/**", "**/coverage/**", "**/*.config.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      // Configuration comes from one zod-parsed place per process (config.ts); reading the
      // environment anywhere else hides a setting from the start-up check.
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "Read settings through the service's config.ts (zod), not process.env." },
      ],
    },
  },
  {
    // infra/grafana generates the dashboards from libraries (@mlsd/budgets, @mlsd/drift); infra's tests may read services' configs.
    files: ["jobs/**/*.ts", "infra/grafana/**/*.ts"],
    ignores: TESTS_AND_BENCHES,
    rules: { "no-restricted-imports": ["error", { patterns: [SERVICE_IMPORTS] }] },
  },
  {
    // A long-running service depends on libraries only: not on another service, nor on a job or tool.
    files: ["services/**/*.ts"],
    ignores: TESTS_AND_BENCHES,
    rules: { "no-restricted-imports": ["error", { patterns: [SERVICE_IMPORTS, JOB_IMPORTS] }] },
  },
  {
    files: ["packages/**/*.ts"],
    ignores: TESTS_AND_BENCHES,
    rules: { "no-restricted-imports": ["error", { patterns: [SERVICE_IMPORTS, JOB_IMPORTS] }] },
  },
  {
    files: ["**/config.ts", "**/*.test.ts", "**/testkit/src/**", "**/bench/**", "**/scripts/**", "**/cli/**", "**/*-cli.ts", "tooling/demo/src/**"],
    rules: { "no-restricted-properties": "off" },
  },
);
