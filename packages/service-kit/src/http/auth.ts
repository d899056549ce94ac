import { createHash, timingSafeEqual } from "node:crypto";
import { AppError } from "../errors";

/** The admin role: model switches, reloads, rollout control, drills. It holds every other role. */
export const ADMIN_ROLE = "admin";

/**
 * Bearer tokens by role, compared in constant time. Tokens are hashed first so the comparison
 * takes the same time whatever the presented token's length. A role without a token is disabled:
 * its routes answer 403, so an unconfigured service is closed, not open.
 */
export class TokenAuthenticator {
  private readonly digests: { role: string; digest: Buffer }[] = [];

  constructor(tokens: Record<string, string | undefined>) {
    for (const [role, token] of Object.entries(tokens)) {
      if (token) this.digests.push({ role, digest: digest(token) });
    }
  }

  /** Whether any token is configured for the role (or admin, which holds every role). */
  enabled(role: string): boolean {
    return this.digests.some((d) => d.role === role || d.role === ADMIN_ROLE);
  }

  /**
   * The role a request authenticates as for a route needing `required`; throws the 401/403 the
   * caller should get otherwise.
   */
  authorize(authorization: string | undefined, required: string): string {
    if (!this.enabled(required)) {
      throw new AppError("FORBIDDEN", `the ${required} API is disabled on this service: no token is configured for it`);
    }
    const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw new AppError("UNAUTHORIZED", `this route needs "Authorization: Bearer <${required} token>"`);
    const presented = digest(match[1] as string);
    // Compare against every configured token so the time does not say which role matched.
    let role: string | null = null;
    for (const d of this.digests) if (timingSafeEqual(d.digest, presented) && role === null) role = d.role;
    if (role === null) throw new AppError("UNAUTHORIZED", "invalid token");
    if (role !== required && role !== ADMIN_ROLE) throw new AppError("FORBIDDEN", `a ${role} token may not call a ${required} route`);
    return role;
  }
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}
