import type { Stage } from "@mlsd/rollout-stats";
import type { ArmsControl } from "./rollout";

/**
 * The services' arms over HTTP (`/v1/model/arms`, admin token): every replica serving the model
 * gets the same setting, and a replica that refuses (a candidate it cannot load, a wrong token)
 * fails the call with its answer, so a rollout never runs on half of the replicas.
 */
export class HttpArmsControl implements ArmsControl {
  constructor(
    private readonly urls: ReadonlyMap<string, readonly string[]>,
    private readonly adminToken: string | undefined,
    private readonly timeoutMs = 60_000,
  ) {}

  async expose(model: string, setting: { challenger: string; mode: Stage; share: number }): Promise<void> {
    // A shadow answers nobody: the services take no share for it.
    await this.each(model, "PUT", setting.mode === "shadow" ? { challenger: setting.challenger, mode: setting.mode } : setting);
  }

  async withdraw(model: string): Promise<void> {
    await this.each(model, "DELETE");
  }

  /** The promotion's reload already dropped a challenger equal to the new current; this makes sure none is left. */
  async settle(model: string): Promise<void> {
    await this.each(model, "DELETE");
  }

  private async each(model: string, method: "PUT" | "DELETE", body?: unknown): Promise<void> {
    const urls = this.urls.get(model) ?? [];
    if (urls.length === 0) throw new Error(`no service URL for ${model} in RELOAD_URLS`);
    const answers = await Promise.all(urls.map((url) => this.call(url, method, body)));
    const failed = answers.filter((a) => !a.ok);
    if (failed.length > 0) throw new Error(`${method} /v1/model/arms for ${model} failed: ${failed.map((f) => `${f.url}: ${f.detail}`).join("; ")}`);
  }

  private async call(url: string, method: string, body: unknown): Promise<{ url: string; ok: boolean; detail: string }> {
    try {
      const res = await fetch(`${url}/v1/model/arms`, {
        method,
        headers: { ...(this.adminToken ? { authorization: `Bearer ${this.adminToken}` } : {}), ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.text();
      return { url, ok: res.ok, detail: `${res.status} ${text.slice(0, 300)}` };
    } catch (error) {
      return { url, ok: false, detail: (error as Error).message };
    }
  }
}
