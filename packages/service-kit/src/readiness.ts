/**
 * What `/readyz` reports. Dependencies mark themselves ready (model loaded, Redis connected);
 * shutdown marks the whole service draining so the load balancer stops sending work first.
 */
export class Readiness {
  private readonly checks = new Map<string, { ready: boolean; detail?: string }>();
  private draining = false;

  constructor(required: readonly string[] = []) {
    for (const name of required) this.checks.set(name, { ready: false, detail: "not started" });
  }

  set(name: string, ready: boolean, detail?: string): void {
    this.checks.set(name, detail === undefined ? { ready } : { ready, detail });
  }

  startDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  get isReady(): boolean {
    if (this.draining) return false;
    for (const c of this.checks.values()) if (!c.ready) return false;
    return true;
  }

  report(): { ready: boolean; draining: boolean; checks: Record<string, { ready: boolean; detail?: string }> } {
    return { ready: this.isReady, draining: this.draining, checks: Object.fromEntries(this.checks) };
  }
}
