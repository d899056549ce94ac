import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { AnnError } from "../errors";

/** Temporary folders for a test file; `cleanup` (in afterAll) removes them all. */
export function tempFolders(prefix: string): { make(): Promise<string>; cleanup(): Promise<void> } {
  const dirs: string[] = [];
  return {
    async make() {
      const dir = await mkdtemp(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
    async cleanup() {
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

/** The AnnError a promise rejects with (the test fails if it resolves or rejects otherwise). */
export async function rejection(promise: Promise<unknown>): Promise<AnnError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AnnError);
  return error as AnnError;
}
