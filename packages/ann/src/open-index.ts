import { AnnError } from "./errors";
import { HnswIndex } from "./hnsw-index";
import { IvfIndex } from "./ivf-index";
import { IVF_MANIFEST_FORMAT, MANIFEST_FORMAT, readManifestJson, type IndexExpectation } from "./manifest";
import type { ItemId } from "./vector-index";

export type IndexKind = "hnsw" | "ivf";

/** A saved index of either kind, loaded behind the shared interface; `kind` tells them apart. */
export type SavedIndex<Id extends ItemId = ItemId> = HnswIndex<Id> | IvfIndex<Id>;

/** What `search`'s third argument means for each kind. */
export const SEARCH_EFFORT: Readonly<Record<IndexKind, "ef" | "nprobe">> = Object.freeze({ hnsw: "ef", ivf: "nprobe" });

/** The effort a search uses when none is given: the index's own `ef` or `nprobe`. */
export function defaultEffort(index: SavedIndex): number {
  return index.kind === "hnsw" ? index.params.ef : index.params.nprobe;
}

/** The kind of index saved in `dir`, from its manifest's format. */
export async function indexKind(dir: string): Promise<IndexKind> {
  const raw = await readManifestJson(dir);
  const format = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>).format : undefined;
  if (format === MANIFEST_FORMAT) return "hnsw";
  if (format === IVF_MANIFEST_FORMAT) return "ivf";
  throw new AnnError("corrupt_index", "manifest.format", `expected ${MANIFEST_FORMAT} or ${IVF_MANIFEST_FORMAT}, got ${String(format)}`);
}

/**
 * Opens whichever index the folder's manifest names, after the same model-version, dimension and
 * checksum checks as the kind's own `load`. `expectedKind`, when given, refuses the other kind
 * (a service configured for IVF must not silently serve an HNSW folder).
 */
export async function openIndex<Id extends ItemId = ItemId>(
  dir: string,
  expected: IndexExpectation & { kind?: IndexKind },
): Promise<SavedIndex<Id>> {
  const kind = await indexKind(dir);
  if (expected.kind !== undefined && expected.kind !== kind) {
    throw new AnnError("corrupt_index", "manifest.format", `index in ${dir} is ${kind}, expected ${expected.kind}`);
  }
  return kind === "hnsw" ? HnswIndex.load<Id>(dir, expected) : IvfIndex.load<Id>(dir, expected);
}
