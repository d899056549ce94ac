import js from "@eslint/js";
import tseslint from "typescript-eslint";

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
    files: ["**/config.ts", "**/*.test.ts", "**/testkit/src/**", "**/bench/**", "**/scripts/**", "**/cli/**", "**/*-cli.ts", "tooling/demo/src/**"],
    rules: { "no-restricted-properties": "off" },
  },
);
