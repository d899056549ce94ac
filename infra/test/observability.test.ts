import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { mountOf, mounts, readCompose, readRepoFile, REPO, type ComposeService } from "./stack";

interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  static_configs: { targets: string[] }[];
}
interface PrometheusConfig {
  global: { scrape_interval: string; scrape_timeout: string };
  scrape_configs: ScrapeConfig[];
}

const compose = readCompose();
const docker = parse(readRepoFile("infra/prometheus/prometheus.yml")) as PrometheusConfig;
const local = parse(readRepoFile("infra/prometheus/prometheus.local.yml")) as PrometheusConfig;
const servers = Object.entries(compose.services).filter(([, svc]) => svc.build !== undefined && svc.restart !== "no");
/** Jobs that run for hours and serve /metrics on a port of their own: the world (WORLD_METRICS_PORT). */
const metricJobs = Object.entries(compose.services).filter(([, svc]) => svc.restart === "no" && svc.environment?.WORLD_METRICS_PORT !== undefined);

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

function targets(config: PrometheusConfig): Map<string, string[]> {
  return new Map(config.scrape_configs.map((c) => [c.job_name, c.static_configs.flatMap((s) => s.targets)]));
}

const seconds = (duration: string): number => {
  const m = /^(\d+)(ms|s|m)$/.exec(duration);
  if (!m) throw new Error(`not a duration: ${duration}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60 }[m[2] as "ms" | "s" | "m"];
};

describe("Prometheus scrape configs", () => {
  it("scrape every long-running service by compose name and container port", () => {
    const jobs = targets(docker);
    expect([...jobs.keys()].sort()).toEqual(["prometheus", ...servers.map(([n]) => n), ...metricJobs.map(([n]) => n)].sort());
    for (const [name, svc] of servers) expect(jobs.get(name), name).toEqual([`${name}:${svc.build?.args?.PORT}`]);
    expect(jobs.get("prometheus")).toEqual(["localhost:9090"]);
    for (const c of docker.scrape_configs) expect(c.metrics_path ?? "/metrics", c.job_name).toBe("/metrics");
  });

  it("scrape the world on the metrics port it is given, published on the host's loopback for the local variant", () => {
    expect(metricJobs.map(([n]) => n)).toEqual(["world"]);
    for (const [name, svc] of metricJobs) {
      const port = svc.environment?.WORLD_METRICS_PORT;
      expect(targets(docker).get(name), name).toEqual([`${name}:${port}`]);
      expect(svc.ports, name).toEqual([`127.0.0.1:${port}:${port}`]);
      // The skew check reads the event logger's offline store, from the volume the logger writes.
      const relative = (svc: ComposeService) => {
        const dir = svc.environment?.OFFLINE_STORE_DIR ?? "";
        const mount = mountOf(svc, dir);
        return { volume: mount?.source, readOnly: mount?.readOnly, path: dir.slice((mount?.target.length ?? 0) + 1) };
      };
      const writer = relative(service("event-logger"));
      expect(writer.volume).toBe("offline-store");
      expect(relative(svc), name).toEqual({ ...writer, readOnly: true });
    }
  });

  it("has a local variant with the same jobs on the host's loopback ports", () => {
    const jobs = targets(local);
    const inDocker = targets(docker);
    expect([...jobs.keys()].sort()).toEqual([...inDocker.keys()].sort());
    for (const [job, list] of jobs) {
      const ports = (inDocker.get(job) ?? []).map((t) => t.split(":")[1]);
      expect(list, job).toEqual(ports.map((p) => `127.0.0.1:${p}`));
    }
    expect(local.global).toEqual(docker.global);
  });

  it("scrapes often enough for 1-minute rates, and times out before the next scrape", () => {
    expect(seconds(docker.global.scrape_interval)).toBeLessThanOrEqual(15);
    expect(seconds(docker.global.scrape_timeout)).toBeLessThan(seconds(docker.global.scrape_interval));
  });

  it("is the file the compose Prometheus loads", () => {
    const prometheus = service("prometheus");
    const config = (prometheus.command ?? []).find((a) => a.startsWith("--config.file="))?.split("=")[1];
    const mount = mounts(prometheus).find((m) => m.source === "./infra/prometheus/prometheus.yml");
    expect(mount?.target).toBe(config);
    expect(mount?.readOnly).toBe(true);
    expect(prometheus.ports).toEqual(["127.0.0.1:9090:9090"]);
  });
});

interface DatasourceFile {
  apiVersion: number;
  datasources: { name: string; uid: string; type: string; url: string; isDefault?: boolean; jsonData?: { timeInterval?: string } }[];
}
interface ProviderFile {
  apiVersion: number;
  providers: { name: string; type: string; options: { path: string } }[];
}

describe("Grafana provisioning", () => {
  const grafana = service("grafana");
  const datasources = parse(readRepoFile("infra/grafana/provisioning/datasources/prometheus.yml")) as DatasourceFile;
  const providers = parse(readRepoFile("infra/grafana/provisioning/dashboards/dashboards.yml")) as ProviderFile;

  it("mounts the provisioning folder where Grafana reads it", () => {
    const mount = mounts(grafana).find((m) => m.source === "./infra/grafana/provisioning");
    expect(mount).toEqual({ source: "./infra/grafana/provisioning", target: "/etc/grafana/provisioning", readOnly: true, named: false });
    expect(grafana.depends_on?.prometheus?.condition).toBe("service_healthy");
  });

  it("provides one default Prometheus data source at the compose Prometheus, with its scrape interval", () => {
    expect(datasources.apiVersion).toBe(1);
    expect(datasources.datasources).toHaveLength(1);
    const source = datasources.datasources[0];
    expect(source).toMatchObject({ uid: "prometheus", type: "prometheus", url: "http://prometheus:9090", isDefault: true });
    expect(source?.jsonData?.timeInterval).toBe(docker.global.scrape_interval);
  });

  it("loads the dashboards from the folder the dashboards are mounted at", () => {
    expect(providers.providers).toHaveLength(1);
    const provider = providers.providers[0];
    expect(provider?.type).toBe("file");
    const mount = mounts(grafana).find((m) => m.source === "./infra/grafana/dashboards");
    expect(mount?.target).toBe(provider?.options.path);
    const home = grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? "";
    expect(home.startsWith(`${mount?.target}/`)).toBe(true);
    expect(existsSync(join(REPO, "infra/grafana/dashboards", home.slice((mount?.target.length ?? 0) + 1)))).toBe(true);
  });
});
