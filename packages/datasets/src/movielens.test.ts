import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MovieLensFormatError, loadMovieLens, loadMovieLens100K, loadMovieLensCsv, loadMovieLensDat } from "./movielens";

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

describe("MovieLens 1M / 10M releases ('::'-separated, hand-written fixtures)", () => {
  // 1M: Latin-1 titles, users.dat with the age-group and occupation codes.
  const movies1m = Buffer.from("1::Toy Story (1995)::Animation|Children's|Comedy\n25::Métisse (Café au Lait) (1993)::Comedy\n40::Untitled::(no genres listed)\n", "latin1");
  const users1m = "1::F::1::10::48067\n6040::M::25::6::11106\n";
  const ratings1m = "1::25::5::978300760\n6040::1::3::956703932\n1::40::4::978302109\n";

  it("reads ratings, Latin-1 titles, genres and the 1M demographics", async () => {
    const dir = await writeFixture({ "movies.dat": movies1m, "users.dat": users1m, "ratings.dat": ratings1m });
    const ml = await loadMovieLens(dir);
    expect(ml.format).toBe("ml-dat");
    expect([ml.numUsers, ml.numItems, ml.numRatings]).toEqual([2, 3, 3]);
    expect(ml.items.titles[1]).toBe("Métisse (Café au Lait) (1993)");
    expect(Array.from(ml.items.releaseYears)).toEqual([1995, 1993, 0]);
    expect(ml.items.genres[0]?.map((g) => ml.items.genreNames[g])).toEqual(["Animation", "Children's", "Comedy"]);
    expect(ml.items.genres[2]).toEqual([]);
    expect(Array.from(ml.ratings.users)).toEqual([0, 1, 0]);
    expect(Array.from(ml.ratings.items)).toEqual([1, 0, 2]);
    expect(Array.from(ml.ratings.values)).toEqual([5, 3, 4]);
    expect(ml.ratings.timestamps[1]).toBe(956_703_932);
    expect(ml.users?.genders).toEqual(["F", "M"]);
    expect(Array.from(ml.users?.ages ?? [])).toEqual([1, 25]);
    expect(ml.users?.occupations).toEqual(["10", "6"]);
  });

  it("reads the 10M layout: UTF-8 titles, half stars, no users.dat", async () => {
    const dir = await writeFixture({
      "movies.dat": "5::Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)::Comedy|Romance\n9::Heat (1995)::Action|Crime|Thriller\n",
      "ratings.dat": "71567::9::4.5::912580553\n3::5::0.5::1230000000\n",
    });
    const ml = await loadMovieLensDat(dir);
    expect(ml.items.titles[0]).toBe("Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)");
    expect(Array.from(ml.userIds)).toEqual([3, 71567]);
    expect(Array.from(ml.ratings.values)).toEqual([4.5, 0.5]);
    expect(ml.users).toBeUndefined();
  });

  it("names file and line for a bad field count, a bad rating and an unknown user", async () => {
    const badCount = await writeFixture({ "movies.dat": movies1m, "ratings.dat": "1::25::5::978300760\n1::25::5\n" });
    await expect(loadMovieLensDat(badCount)).rejects.toThrow(/ratings\.dat:2: expected 4 '::'-separated fields .*got 3/);
    const badRating = await writeFixture({ "movies.dat": movies1m, "ratings.dat": "1::25::5::978300760\n\n1::1::x::978300761\n" });
    await expect(loadMovieLensDat(badRating)).rejects.toThrow(/ratings\.dat:3: rating 'x'/);
    const badMovie = await writeFixture({ "movies.dat": "1::Toy Story (1995)\n", "ratings.dat": ratings1m });
    await expect(loadMovieLensDat(badMovie)).rejects.toThrow(/movies\.dat:1: expected 3 '::'-separated fields/);
    const unknownUser = await writeFixture({ "movies.dat": movies1m, "users.dat": users1m, "ratings.dat": "1::25::5::978300760\n7::1::3::956703932\n" });
    await expect(loadMovieLensDat(unknownUser)).rejects.toThrow(/ratings\.dat:2: user id 7 is not in the user file/);
    const badAge = await writeFixture({ "movies.dat": movies1m, "users.dat": "1::F::young::10::48067\n", "ratings.dat": ratings1m });
    await expect(loadMovieLensDat(badAge)).rejects.toThrow(/users\.dat:1: age 'young'/);
  });
});

describe("MovieLens 100K (hand-written fixture)", () => {
  it("reads u.data, u.item and u.user", async () => {
    const flags = (g: number) => Array.from({ length: 19 }, (_, i) => (i === g ? "1" : "0")).join("|");
    const dir = await writeFixture({
      "u.item": `1|Toy Story (1995)|01-Jan-1995||http://x|${flags(3)}\n2|GoldenEye (1995)|01-Jan-1995||http://x|${flags(1)}\n`,
      "u.user": "1|24|M|technician|85711\n2|53|F|other|94043\n",
      "u.data": "2\t1\t4\t881250949\n1\t2\t3\t891717742\n",
    });
    const ml = await loadMovieLens(dir);
    expect(ml.format).toBe("ml-100k");
    expect([ml.numUsers, ml.numItems, ml.numRatings]).toEqual([2, 2, 2]);
    expect(Array.from(ml.ratings.users)).toEqual([1, 0]);
    expect(ml.items.genreNames[ml.items.genres[0]?.[0] as number]).toBe("Animation");
    expect(Array.from(ml.users?.ages ?? [])).toEqual([24, 53]);
    expect(ml.users?.occupations).toEqual(["technician", "other"]);
  });
});
