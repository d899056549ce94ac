import type { HttpMethod, RouteSpec } from "./route";

interface CompiledRoute {
  route: RouteSpec;
  /** Literal segments, or null where the template has a parameter. */
  segments: (string | null)[];
  names: string[];
}

export type RouteMatch =
  | { kind: "found"; route: RouteSpec; params: Record<string, string> }
  | { kind: "method-not-allowed"; allowed: HttpMethod[] }
  | { kind: "not-found" };

const SEGMENT = /^(?::[A-Za-z_][A-Za-z0-9_]*|[A-Za-z0-9._~-]+)$/;

/**
 * Matches a request path against the route templates. Literal paths are one map lookup (the hot
 * routes have no parameters); templates with `:params` are tried in registration order.
 */
export class Router {
  private readonly literal = new Map<string, Map<HttpMethod, RouteSpec>>();
  private readonly templated: CompiledRoute[] = [];
  readonly routes: RouteSpec[] = [];

  add(route: RouteSpec): void {
    if (!route.path.startsWith("/")) throw new RangeError(`route path must start with "/": ${route.path}`);
    const parts = route.path === "/" ? [] : route.path.slice(1).split("/");
    for (const part of parts) if (!SEGMENT.test(part)) throw new RangeError(`route ${route.path}: bad segment "${part}"`);
    const key = `${route.method} ${route.path}`;
    if (this.routes.some((r) => `${r.method} ${r.path}` === key)) throw new RangeError(`route ${key} is registered twice`);
    this.routes.push(route);
    if (parts.every((p) => !p.startsWith(":"))) {
      const byMethod = this.literal.get(route.path) ?? new Map<HttpMethod, RouteSpec>();
      byMethod.set(route.method, route);
      this.literal.set(route.path, byMethod);
      return;
    }
    this.templated.push({
      route,
      segments: parts.map((p) => (p.startsWith(":") ? null : p)),
      names: parts.filter((p) => p.startsWith(":")).map((p) => p.slice(1)),
    });
  }

  match(method: string, path: string): RouteMatch {
    const exact = this.literal.get(path);
    if (exact) {
      const route = exact.get(method as HttpMethod) ?? (method === "HEAD" ? exact.get("GET") : undefined);
      if (route) return { kind: "found", route, params: {} };
    }
    const parts = path === "/" ? [] : path.slice(1).split("/");
    const allowed = new Set<HttpMethod>(exact ? [...exact.keys()] : []);
    for (const compiled of this.templated) {
      if (compiled.segments.length !== parts.length) continue;
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const literal = compiled.segments[i];
        const part = parts[i] as string;
        ok = literal === null ? part.length > 0 : literal === part;
      }
      if (!ok) continue;
      if (compiled.route.method !== method && !(method === "HEAD" && compiled.route.method === "GET")) {
        allowed.add(compiled.route.method);
        continue;
      }
      const params: Record<string, string> = {};
      let p = 0;
      for (let i = 0; i < parts.length; i++) {
        if (compiled.segments[i] === null) params[compiled.names[p++] as string] = safeDecode(parts[i] as string);
      }
      return { kind: "found", route: compiled.route, params };
    }
    return allowed.size > 0 ? { kind: "method-not-allowed", allowed: [...allowed] } : { kind: "not-found" };
  }
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
