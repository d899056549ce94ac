import fs from "node:fs";
import path from "node:path";
import { Rng } from "@mlsd/random";

const GENRES = 19;

/**
 * A MovieLens 100K folder in miniature (u.data, u.item, u.user): movie m has genre 1 + m % 3
 * (Action, Adventure, Animation), user u rates mostly movies of genre 1 + u % 3, so a model that
 * learns anything puts a user's own genre first. Movie ids start at 1 like the real release.
 */
export function writeTinyMovieLens(dir: string, options: { users?: number; movies?: number; perUser?: number; seed?: number } = {}): void {
  const users = options.users ?? 30;
  const movies = options.movies ?? 45;
  const perUser = options.perUser ?? 12;
  const rng = new Rng(options.seed ?? 9);
  fs.mkdirSync(dir, { recursive: true });
  const items = Array.from({ length: movies }, (_, m) => {
    const flags = Array<string>(GENRES).fill("0");
    flags[1 + (m % 3)] = "1";
    const date = m % 10 === 9 ? "" : `01-Jan-${1970 + m}`;
    return [m + 1, `Movie ${m + 1} (${1970 + m})`, date, "", "http://example.org", ...flags].join("|");
  });
  fs.writeFileSync(path.join(dir, "u.item"), items.join("\n") + "\n");
  const occupations = ["engineer", "student", "writer"];
  fs.writeFileSync(
    path.join(dir, "u.user"),
    Array.from({ length: users }, (_, u) => [u + 1, 16 + ((u * 7) % 50), u % 2 ? "F" : "M", occupations[u % 3], "00000"].join("|")).join("\n") + "\n",
  );
  const lines: string[] = [];
  for (let u = 0; u < users; u++) {
    const own = Array.from({ length: movies }, (_, m) => m).filter((m) => m % 3 === u % 3);
    const other = Array.from({ length: movies }, (_, m) => m).filter((m) => m % 3 !== u % 3);
    rng.shuffle(own);
    rng.shuffle(other);
    const chosen = [...own.slice(0, perUser - 2), ...other.slice(0, 2)];
    chosen.forEach((m, t) => lines.push([u + 1, m + 1, 1 + rng.int(5), 880_000_000 + u * 1000 + t].join("\t")));
  }
  fs.writeFileSync(path.join(dir, "u.data"), lines.join("\n") + "\n");
}
