/**
 * The environment the live stack's services inherit: the lab's own (PATH, the testkit's settings,
 * NODE_OPTIONS), under the settings the stack gives each service. The one place the lab's live code
 * reads the environment.
 */
export function inheritedEnv(): Readonly<Record<string, string | undefined>> {
  return { ...process.env };
}
