export const HISTOGRAM_SUFFIXES = ["_bucket", "_sum", "_count"] as const;

/**
 * The metric family a queried name belongs to: the name itself, or for the series a histogram
 * exposes (`_bucket`, `_sum`, `_count`) the histogram's name.
 */
export function familyCandidates(name: string): { family: string; suffix: (typeof HISTOGRAM_SUFFIXES)[number] | null }[] {
  const out: { family: string; suffix: (typeof HISTOGRAM_SUFFIXES)[number] | null }[] = [{ family: name, suffix: null }];
  for (const suffix of HISTOGRAM_SUFFIXES) if (name.endsWith(suffix)) out.push({ family: name.slice(0, -suffix.length), suffix });
  return out;
}

/** One scraped `/metrics` page in the Prometheus text format, by metric family. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  samples: Sample[];
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0 || text[eq + 1] !== '"') throw new Error(`bad labels in: ${line}`);
    const name = text.slice(i, eq).trim();
    let value = "";
    let j = eq + 2;
    while (j < text.length && text[j] !== '"') {
      if (text[j] === "\\") {
        const escaped = text[j + 1];
        value += escaped === "n" ? "\n" : (escaped ?? "");
        j += 2;
      } else value += text[j++];
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
  }
  return labels;
}

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const typeLine = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (typeLine) {
      families.set(typeLine[1] as string, { name: typeLine[1] as string, type: typeLine[2] as string, samples: [] });
      continue;
    }
    if (line.startsWith("#")) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!sample) throw new Error(`not a sample line: ${line}`);
    const name = sample[1] as string;
    const family = familyCandidates(name)
      .map((c) => families.get(c.family))
      .find((f) => f !== undefined);
    if (!family) throw new Error(`sample ${name} before its # TYPE line`);
    family.samples.push({ name, labels: parseLabels(sample[2] ?? "", line), value: Number(sample[3]) });
  }
  return families;
}

/** Merges several pages; a family exported by two processes keeps both sets of samples. */
export function mergeFamilies(pages: Iterable<Map<string, Family>>): Map<string, Family> {
  const merged = new Map<string, Family>();
  for (const page of pages) {
    for (const family of page.values()) {
      const existing = merged.get(family.name);
      if (!existing) merged.set(family.name, { ...family, samples: [...family.samples] });
      else {
        if (existing.type !== family.type) throw new Error(`${family.name} is a ${existing.type} in one service and a ${family.type} in another`);
        existing.samples.push(...family.samples);
      }
    }
  }
  return merged;
}

/**
 * The family a queried series name reads, or why it reads nothing: a histogram is only queryable
 * through its `_bucket`, `_sum` and `_count` series, a summary through `_sum` and `_count`.
 */
export function resolveSeries(name: string, families: Map<string, Family>): { family: Family } | { problem: string } {
  for (const { family: candidate, suffix } of familyCandidates(name)) {
    const family = families.get(candidate);
    if (!family) continue;
    if (suffix === null && (family.type === "histogram" || family.type === "summary")) {
      return { problem: `${name} is a ${family.type}: query ${name}_bucket, _sum or _count` };
    }
    if (suffix !== null && family.type !== "histogram" && !(family.type === "summary" && suffix !== "_bucket")) continue;
    return { family };
  }
  return { problem: `${name} is not exported` };
}
