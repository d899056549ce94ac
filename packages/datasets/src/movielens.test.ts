import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MovieLensFormatError, loadMovieLens, loadMovieLens100K, loadMovieLensCsv } from "./movielens";

const tempDirs: string[] = [];
async function writeFixture(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mlsd-movielens-"));
  tempDirs.push(dir);
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}
afterEach(async () => {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe("MovieLens 100K format errors", () => {
  const item = (id: number) => `${id}|Film ${id} (1990)|01-Jan-1990||http://x|${"0|".repeat(18)}1\n`;

  it("names file and line for a malformed rating", async () => {
    const dir = await writeFixture({ "u.item": item(1) + item(2), "u.data": "1\t1\t4\t10\n1\t2\tfour\t11\n" });
    const err = await loadMovieLens100K(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MovieLensFormatError);
    expect((err as MovieLensFormatError).line).toBe(2);
    expect((err as Error).message).toContain(`${join(dir, "u.data")}:2: rating 'four'`);
  });

  it("rejects a rating of an item missing from u.item", async () => {
    const dir = await writeFixture({ "u.item": item(1), "u.data": "1\t1\t4\t10\n2\t9\t4\t11\n" });
    await expect(loadMovieLens100K(dir)).rejects.toThrow(/u\.data:2: item id 9 is not in the item file/);
  });

  it("derives users from ratings without u.user", async () => {
    const dir = await writeFixture({ "u.item": item(5) + item(3), "u.data": "7\t5\t4\t10\n2\t3\t1\t11\n7\t3\t5\t12\n" });
    const ml = await loadMovieLens100K(dir);
    expect(Array.from(ml.userIds)).toEqual([2, 7]);
    expect(Array.from(ml.itemIds)).toEqual([3, 5]);
    expect(Array.from(ml.ratings.users)).toEqual([1, 0, 1]);
    expect(Array.from(ml.ratings.items)).toEqual([1, 0, 0]);
    expect(ml.users).toBeUndefined();
    expect(ml.items.genreNames[ml.items.genres[0]?.[0] as number]).toBe("Western");
  });

  it("reports a missing folder content", async () => {
    const dir = await writeFixture({});
    await expect(loadMovieLens(dir)).rejects.toThrow(MovieLensFormatError);
  });
});

describe("MovieLens CSV releases (hand-written fixture)", () => {
  const movies = [
    "movieId,title,genres",
    "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy",
    '11,"American President, The (1995)",Comedy|Drama|Romance',
    '30,"Shanghai Triad (Yao a yao yao dao waipo qiao) (1995)",Crime|Drama',
    '99,"The ""Quoted"" Movie, Part 2",(no genres listed)',
    "",
  ].join("\r\n");
  const ratings = [
    "userId,movieId,rating,timestamp",
    "10,11,3.5,1112486027",
    "3,1,4.0,1112484676",
    "10,99,0.5,1112484819",
    "",
  ].join("\n");

  it("parses quoted titles, genres and half-star ratings", async () => {
    const dir = await writeFixture({ "movies.csv": movies, "ratings.csv": ratings });
    const ml = await loadMovieLens(dir);
    expect(ml.format).toBe("ml-csv");
    expect([ml.numUsers, ml.numItems, ml.numRatings]).toEqual([2, 4, 3]);
    expect(Array.from(ml.itemIds)).toEqual([1, 11, 30, 99]);
    expect(ml.items.titles).toEqual([
      "Toy Story (1995)",
      "American President, The (1995)",
      "Shanghai Triad (Yao a yao yao dao waipo qiao) (1995)",
      'The "Quoted" Movie, Part 2',
    ]);
    expect(Array.from(ml.items.releaseYears)).toEqual([1995, 1995, 1995, 0]);
    expect(ml.items.genres[1]?.map((g) => ml.items.genreNames[g])).toEqual(["Comedy", "Drama", "Romance"]);
    expect(ml.items.genres[3]).toEqual([]);
    expect(Array.from(ml.userIds)).toEqual([3, 10]);
    expect(Array.from(ml.ratings.users)).toEqual([1, 0, 1]);
    expect(Array.from(ml.ratings.items)).toEqual([1, 0, 3]);
    expect(Array.from(ml.ratings.values)).toEqual([3.5, 4, 0.5]);
    expect(ml.ratings.timestamps[1]).toBe(1_112_484_676);
  });

  it("rejects a wrong header, an unterminated quote and a bad field count by file and line", async () => {
    const badHeader = await writeFixture({ "movies.csv": movies, "ratings.csv": "user,movie,rating,time\n1,1,4,1\n" });
    await expect(loadMovieLensCsv(badHeader)).rejects.toThrow(/ratings\.csv:1: expected the header/);

    const badQuote = await writeFixture({ "movies.csv": 'movieId,title,genres\n1,"Open,Drama\n', "ratings.csv": ratings });
    await expect(loadMovieLensCsv(badQuote)).rejects.toThrow(/movies\.csv:2: malformed CSV record \(an open quote/);

    const badCount = await writeFixture({ "movies.csv": movies, "ratings.csv": "userId,movieId,rating,timestamp\n1,1,4\n" });
    await expect(loadMovieLensCsv(badCount)).rejects.toThrow(/ratings\.csv:2: expected 4 comma-separated fields, got 3/);
  });
});
