import { constants, createReadStream } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { splitCsvLine } from "./csv";

/**
 * MovieLens in one in-memory shape for every file format: the 100K release (u.data, u.item,
 * u.user), the 1M and 10M releases (`::`-separated ratings.dat, movies.dat and, for 1M,
 * users.dat) and the CSV releases (ratings.csv, movies.csv: ml-latest, ml-latest-small, ml-20m,
 * ml-25m, ml-32m). Users and items get dense 0-based indices in ascending order of their
 * original ids; ratings are parallel typed arrays in file order.
 */
export interface RatingsDataset {
  readonly format: "ml-100k" | "ml-dat" | "ml-csv";
  readonly numUsers: number;
  readonly numItems: number;
  readonly numRatings: number;
  readonly ratings: {
    readonly users: Int32Array;
    readonly items: Int32Array;
    readonly values: Float32Array;
    /** Unix seconds. */
    readonly timestamps: Float64Array;
  };
  /** Original id of each dense user index, and the way back. */
  readonly userIds: Int32Array;
  readonly userIndex: ReadonlyMap<number, number>;
  readonly itemIds: Int32Array;
  readonly itemIndex: ReadonlyMap<number, number>;
  readonly items: ItemInfo;
  /** Demographics; only the 100K (u.user) and 1M (users.dat) releases ship them. */
  readonly users?: UserInfo;
}

export interface ItemInfo {
  readonly titles: readonly string[];
  /** From the release date (100K) or the "(1995)" suffix of the title (CSV); 0 when unknown. */
  readonly releaseYears: Uint16Array;
  readonly genreNames: readonly string[];
  /** Genre ids (indices into genreNames) per item; empty when the source says "unknown". */
  readonly genres: readonly (readonly number[])[];
}

export interface UserInfo {
  /** Age in years (100K) or the 1M release's age-group code (1 = under 18, 18, 25, 35, 45, 50, 56). */
  readonly ages: Uint8Array;
  readonly genders: readonly string[];
  readonly occupations: readonly string[];
  readonly zipCodes: readonly string[];
}

export class MovieLensFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${message}` : `${file}: ${message}`);
    this.name = "MovieLensFormatError";
  }
}

// u.genre order; the flags in u.item follow it.
const ML100K_GENRES = [
  "unknown",
  "Action",
  "Adventure",
  "Animation",
  "Children's",
  "Comedy",
  "Crime",
  "Documentary",
  "Drama",
  "Fantasy",
  "Film-Noir",
  "Horror",
  "Musical",
  "Mystery",
  "Romance",
  "Sci-Fi",
  "Thriller",
  "War",
  "Western",
] as const;

// Both releases have a placeholder genre meaning "none"; it becomes an empty genre list.
const NO_GENRE = new Set(["unknown", "(no genres listed)"]);

/** Loads whichever MovieLens format the folder holds (u.data first, then ratings.dat, then ratings.csv). */
export async function loadMovieLens(dir: string): Promise<RatingsDataset> {
  if (await exists(join(dir, "u.data"))) return loadMovieLens100K(dir);
  if (await exists(join(dir, "ratings.dat"))) return loadMovieLensDat(dir);
  if (await exists(join(dir, "ratings.csv"))) return loadMovieLensCsv(dir);
  throw new MovieLensFormatError(dir, 0, "no u.data (100K release), ratings.dat (1M, 10M) or ratings.csv (newer releases) in this folder");
}

/**
 * The 1M and 10M releases: `UserID::MovieID::Rating::Timestamp` in ratings.dat,
 * `MovieID::Title::Genres` in movies.dat and, in 1M only, `UserID::Gender::Age::Occupation::Zip`
 * in users.dat (occupation as its numeric code). 1M's movies.dat is Latin-1, 10M's UTF-8: a
 * file that is not valid UTF-8 is read as Latin-1.
 */
export async function loadMovieLensDat(dir: string): Promise<RatingsDataset> {
  const moviesPath = join(dir, "movies.dat");
  const userPath = join(dir, "users.dat");
  const items = parseMoviesDat(moviesPath, decodeText(await readRequired(moviesPath)));
  const users = (await exists(userPath)) ? parseDatUsers(userPath, decodeText(await readRequired(userPath))) : undefined;

  const ratingsPath = join(dir, "ratings.dat");
  const raw = new RawRatings(indexOf(items.ids), users ? indexOf(users.ids) : undefined);
  await forEachLine(ratingsPath, (line, lineNo) => {
    const f = line.split("::");
    if (f.length !== 4) throw new MovieLensFormatError(ratingsPath, lineNo, `expected 4 '::'-separated fields (UserID::MovieID::Rating::Timestamp), got ${f.length}`);
    raw.push(
      ratingsPath,
      lineNo,
      parseId(f[0], "UserID", ratingsPath, lineNo),
      parseId(f[1], "MovieID", ratingsPath, lineNo),
      parseRating(f[2], ratingsPath, lineNo),
      parseTimestamp(f[3], ratingsPath, lineNo),
    );
  });
  return assemble("ml-dat", ratingsPath, raw, users?.ids, items.ids, items.info, users?.info);
}

export async function loadMovieLens100K(dir: string): Promise<RatingsDataset> {
  const itemPath = join(dir, "u.item");
  const userPath = join(dir, "u.user");
  const items = parse100KItems(itemPath, (await readRequired(itemPath)).toString("latin1"));
  const users = (await exists(userPath))
    ? parse100KUsers(userPath, (await readRequired(userPath)).toString("latin1"))
    : undefined;

  const dataPath = join(dir, "u.data");
  const raw = new RawRatings(indexOf(items.ids), users ? indexOf(users.ids) : undefined);
  await forEachLine(dataPath, (line, lineNo) => {
    const f = line.split("\t");
    if (f.length !== 4) throw new MovieLensFormatError(dataPath, lineNo, `expected 4 tab-separated fields, got ${f.length}`);
    raw.push(
      dataPath,
      lineNo,
      parseId(f[0], "user id", dataPath, lineNo),
      parseId(f[1], "item id", dataPath, lineNo),
      parseRating(f[2], dataPath, lineNo),
      parseTimestamp(f[3], dataPath, lineNo),
    );
  });
  return assemble("ml-100k", dataPath, raw, users?.ids, items.ids, items.info, users?.info);
}

export async function loadMovieLensCsv(dir: string): Promise<RatingsDataset> {
  const moviesPath = join(dir, "movies.csv");
  const items = parseMoviesCsv(moviesPath, (await readRequired(moviesPath)).toString("utf8"));

  const ratingsPath = join(dir, "ratings.csv");
  const raw = new RawRatings(indexOf(items.ids), undefined);
  await forEachLine(ratingsPath, (line, lineNo) => {
    if (lineNo === 1) {
      expectHeader(ratingsPath, line, "userId,movieId,rating,timestamp");
      return;
    }
    const f = line.split(",");
    if (f.length !== 4) throw new MovieLensFormatError(ratingsPath, lineNo, `expected 4 comma-separated fields, got ${f.length}`);
    raw.push(
      ratingsPath,
      lineNo,
      parseId(f[0], "userId", ratingsPath, lineNo),
      parseId(f[1], "movieId", ratingsPath, lineNo),
      parseRating(f[2], ratingsPath, lineNo),
      parseTimestamp(f[3], ratingsPath, lineNo),
    );
  });
  return assemble("ml-csv", ratingsPath, raw, undefined, items.ids, items.info, undefined);
}

interface ParsedItems {
  ids: Int32Array;
  info: ItemInfo;
}

function parse100KItems(file: string, text: string): ParsedItems {
  const rows: { id: number; title: string; year: number; genres: number[] }[] = [];
  eachTextLine(text, (line, lineNo) => {
    const f = line.split("|");
    if (f.length !== 5 + ML100K_GENRES.length) {
      throw new MovieLensFormatError(file, lineNo, `expected ${5 + ML100K_GENRES.length} '|'-separated fields, got ${f.length}`);
    }
    const genres: number[] = [];
    for (let g = 0; g < ML100K_GENRES.length; g++) {
      const flag = f[5 + g];
      if (flag !== "0" && flag !== "1") {
        throw new MovieLensFormatError(file, lineNo, `genre flag ${ML100K_GENRES[g]} is '${flag}', expected 0 or 1`);
      }
      if (flag === "1" && !NO_GENRE.has(ML100K_GENRES[g] as string)) genres.push(g);
    }
    const date = /(\d{4})$/.exec(f[2] ?? "");
    rows.push({ id: parseId(f[0], "item id", file, lineNo), title: f[1] ?? "", year: date ? Number(date[1]) : 0, genres });
  });
  return buildItems(file, rows, [...ML100K_GENRES]);
}

function parseMoviesCsv(file: string, text: string): ParsedItems {
  const titles = new TitledItems();
  eachTextLine(text, (line, lineNo) => {
    if (lineNo === 1) {
      expectHeader(file, line, "movieId,title,genres");
      return;
    }
    const f = splitCsvLine(line);
    if (f === undefined) throw new MovieLensFormatError(file, lineNo, "malformed CSV record (an open quote, or text after a closing quote)");
    if (f.length !== 3) throw new MovieLensFormatError(file, lineNo, `expected 3 fields (movieId,title,genres), got ${f.length}`);
    titles.add(parseId(f[0], "movieId", file, lineNo), f[1] as string, f[2] as string);
  });
  return buildItems(file, titles.rows, titles.genreNames);
}

function parseMoviesDat(file: string, text: string): ParsedItems {
  const titles = new TitledItems();
  eachTextLine(text, (line, lineNo) => {
    const f = line.split("::");
    if (f.length !== 3) throw new MovieLensFormatError(file, lineNo, `expected 3 '::'-separated fields (MovieID::Title::Genres), got ${f.length}`);
    titles.add(parseId(f[0], "MovieID", file, lineNo), f[1] as string, f[2] as string);
  });
  return buildItems(file, titles.rows, titles.genreNames);
}

/** Items of the releases that list genres by name ("Action|Comedy") and put the year in the title. */
class TitledItems {
  readonly rows: { id: number; title: string; year: number; genres: number[] }[] = [];
  readonly genreNames: string[] = [];
  private readonly genreIds = new Map<string, number>();

  add(id: number, rawTitle: string, genreList: string): void {
    const title = rawTitle.trim();
    const genres: number[] = [];
    for (const name of genreList.split("|")) {
      if (name === "" || NO_GENRE.has(name)) continue;
      let g = this.genreIds.get(name);
      if (g === undefined) {
        g = this.genreNames.length;
        this.genreIds.set(name, g);
        this.genreNames.push(name);
      }
      genres.push(g);
    }
    const year = /\((\d{4})\)$/.exec(title);
    this.rows.push({ id, title, year: year ? Number(year[1]) : 0, genres });
  }
}

function parseDatUsers(file: string, text: string): { ids: Int32Array; info: UserInfo } {
  const rows: UserRow[] = [];
  eachTextLine(text, (line, lineNo) => {
    const f = line.split("::");
    if (f.length !== 5) throw new MovieLensFormatError(file, lineNo, `expected 5 '::'-separated fields (UserID::Gender::Age::Occupation::Zip-code), got ${f.length}`);
    rows.push({ id: parseId(f[0], "UserID", file, lineNo), gender: f[1] ?? "", age: parseAge(f[2], file, lineNo), occupation: f[3] ?? "", zip: f[4] ?? "" });
  });
  return buildUsers(file, rows);
}

/** UTF-8 unless the bytes are not valid UTF-8, then Latin-1 (1M's movies.dat). */
function decodeText(bytes: Buffer): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString("latin1");
  }
}

function buildItems(
  file: string,
  rows: { id: number; title: string; year: number; genres: number[] }[],
  genreNames: string[],
): ParsedItems {
  if (rows.length === 0) throw new MovieLensFormatError(file, 0, "no items");
  rows.sort((a, b) => a.id - b.id);
  for (let i = 1; i < rows.length; i++) {
    if ((rows[i] as { id: number }).id === (rows[i - 1] as { id: number }).id) {
      throw new MovieLensFormatError(file, 0, `item id ${(rows[i] as { id: number }).id} is listed twice`);
    }
  }
  return {
    ids: Int32Array.from(rows, (r) => r.id),
    info: {
      titles: rows.map((r) => r.title),
      releaseYears: Uint16Array.from(rows, (r) => r.year),
      genreNames,
      genres: rows.map((r) => r.genres),
    },
  };
}

interface UserRow {
  id: number;
  age: number;
  gender: string;
  occupation: string;
  zip: string;
}

function parseAge(text: string | undefined, file: string, lineNo: number): number {
  const age = Number(text);
  if (text === undefined || text === "" || !Number.isInteger(age) || age < 0 || age > 255) throw new MovieLensFormatError(file, lineNo, `age '${text ?? ""}' is not an integer in [0, 255]`);
  return age;
}

function parse100KUsers(file: string, text: string): { ids: Int32Array; info: UserInfo } {
  const rows: UserRow[] = [];
  eachTextLine(text, (line, lineNo) => {
    const f = line.split("|");
    if (f.length !== 5) throw new MovieLensFormatError(file, lineNo, `expected 5 '|'-separated fields (id|age|gender|occupation|zip), got ${f.length}`);
    rows.push({ id: parseId(f[0], "user id", file, lineNo), age: parseAge(f[1], file, lineNo), gender: f[2] ?? "", occupation: f[3] ?? "", zip: f[4] ?? "" });
  });
  return buildUsers(file, rows);
}

function buildUsers(file: string, rows: UserRow[]): { ids: Int32Array; info: UserInfo } {
  rows.sort((a, b) => a.id - b.id);
  for (let i = 1; i < rows.length; i++) {
    if ((rows[i] as UserRow).id === (rows[i - 1] as UserRow).id) throw new MovieLensFormatError(file, 0, `user id ${(rows[i] as UserRow).id} is listed twice`);
  }
  return {
    ids: Int32Array.from(rows, (r) => r.id),
    info: {
      ages: Uint8Array.from(rows, (r) => r.age),
      genders: rows.map((r) => r.gender),
      occupations: rows.map((r) => r.occupation),
      zipCodes: rows.map((r) => r.zip),
    },
  };
}

function assemble(
  format: RatingsDataset["format"],
  ratingsFile: string,
  raw: RawRatings,
  knownUserIds: Int32Array | undefined,
  itemIds: Int32Array,
  items: ItemInfo,
  users: UserInfo | undefined,
): RatingsDataset {
  const n = raw.length;
  if (n === 0) throw new MovieLensFormatError(ratingsFile, 0, "no ratings");
  let ratingUsers = raw.users.view().slice();
  let userIds = knownUserIds;
  if (userIds === undefined) {
    // Without a user file the users are exactly those who rated something.
    userIds = uniqueSorted(ratingUsers);
    const userIndex = indexOf(userIds);
    ratingUsers = ratingUsers.map((id) => userIndex.get(id) as number);
  }
  const dataset: RatingsDataset = {
    format,
    numUsers: userIds.length,
    numItems: itemIds.length,
    numRatings: n,
    ratings: {
      users: ratingUsers,
      items: raw.items.view().slice(),
      values: raw.values.view().slice(),
      timestamps: raw.times.view().slice(),
    },
    userIds,
    userIndex: indexOf(userIds),
    itemIds,
    itemIndex: indexOf(itemIds),
    items,
  };
  return users ? { ...dataset, users } : dataset;
}

function indexOf(ids: Int32Array): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < ids.length; i++) m.set(ids[i] as number, i);
  return m;
}

function uniqueSorted(values: Int32Array): Int32Array {
  const sorted = values.slice().sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[n++] = sorted[i] as number;
  return sorted.slice(0, n);
}

function expectHeader(file: string, line: string, header: string): void {
  if (line.replace(/^\uFEFF/, "").trim() !== header) {
    throw new MovieLensFormatError(file, 1, `expected the header '${header}', got '${line.slice(0, 80)}'`);
  }
}

function parseId(text: string | undefined, field: string, file: string, lineNo: number): number {
  const v = Number(text);
  if (text === undefined || text === "" || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
    throw new MovieLensFormatError(file, lineNo, `${field} '${text ?? ""}' is not a non-negative integer`);
  }
  return v;
}

function parseRating(text: string | undefined, file: string, lineNo: number): number {
  const v = Number(text);
  if (text === undefined || text.trim() === "" || !Number.isFinite(v) || v < 0) {
    throw new MovieLensFormatError(file, lineNo, `rating '${text ?? ""}' is not a non-negative number`);
  }
  return v;
}

function parseTimestamp(text: string | undefined, file: string, lineNo: number): number {
  const v = Number(text);
  if (text === undefined || text.trim() === "" || !Number.isInteger(v) || v < 0) {
    throw new MovieLensFormatError(file, lineNo, `timestamp '${text ?? ""}' is not a non-negative integer (unix seconds)`);
  }
  return v;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function readRequired(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new MovieLensFormatError(path, 0, `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** Calls fn for every non-empty line with its 1-based number. */
function eachTextLine(text: string, fn: (line: string, lineNo: number) => void): void {
  let start = 0;
  let lineNo = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
    if (line.length > 0) fn(line, lineNo);
    start = end + 1;
  }
}

/** Streams a file line by line, so ratings files larger than a V8 string (ml-25m) still load. */
async function forEachLine(path: string, fn: (line: string, lineNo: number) => void): Promise<void> {
  // readline does not surface errors of its input stream, so check readability first.
  try {
    await access(path, constants.R_OK);
  } catch (err) {
    throw new MovieLensFormatError(path, 0, `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const lines = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (line.length > 0) fn(line, lineNo);
  }
}

class GrowableArray<T extends Int32Array | Float32Array | Float64Array> {
  private data: T;
  length = 0;

  constructor(private readonly make: (n: number) => T) {
    this.data = make(1024);
  }

  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = this.make(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }

  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
}

/**
 * Ratings as they stream in. Item ids map to dense indices at once (the item file is read
 * first), so an unknown item fails on its own line; user ids do too when a user file exists.
 */
class RawRatings {
  readonly users = new GrowableArray((n) => new Int32Array(n));
  readonly items = new GrowableArray((n) => new Int32Array(n));
  readonly values = new GrowableArray((n) => new Float32Array(n));
  readonly times = new GrowableArray((n) => new Float64Array(n));

  constructor(
    private readonly itemIndex: ReadonlyMap<number, number>,
    private readonly userIndex: ReadonlyMap<number, number> | undefined,
  ) {}

  get length(): number {
    return this.users.length;
  }

  push(file: string, lineNo: number, user: number, item: number, value: number, time: number): void {
    const it = this.itemIndex.get(item);
    if (it === undefined) throw new MovieLensFormatError(file, lineNo, `item id ${item} is not in the item file`);
    let u = user;
    if (this.userIndex) {
      const known = this.userIndex.get(user);
      if (known === undefined) throw new MovieLensFormatError(file, lineNo, `user id ${user} is not in the user file`);
      u = known;
    }
    this.users.push(u);
    this.items.push(it);
    this.values.push(value);
    this.times.push(time);
  }
}
