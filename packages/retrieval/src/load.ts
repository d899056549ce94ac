import { loadRetrievalModel } from "@mlsd/model-formats/retrieval";
import type { ModelRegistry } from "@mlsd/model-registry";
import { Retriever, type SearchEfforts, type SearchMode } from "./retriever";

/**
 * Loads the version `alias` points at: the user tower, the item embeddings and the index built for
 * them. With `search` `hnsw` or `ivf`, an index of the other kind is refused (exact search serves, degraded).
 */
export async function loadRetriever(registry: ModelRegistry, alias: string, efforts: SearchEfforts = {}, search: SearchMode = "hnsw"): Promise<Retriever> {
  return new Retriever(await loadRetrievalModel(registry, alias, search === "exact" ? {} : { indexKind: search }), efforts);
}

/** The readiness line of a loaded model: its version, and how it searches or why it is degraded. */
export function describeLoaded(loaded: Retriever, search: SearchMode): string {
  const indexError = loaded.artifact.indexError;
  if (indexError) return `${loaded.version}: ${search === "exact" ? "index" : search.toUpperCase() + " index"} refused (${indexError}); exact search answers${search === "exact" ? "" : ", degraded"}`;
  const s = loaded.search;
  if (search === "exact" || !s) return `${loaded.version}: exact search`;
  return `${loaded.version}: ${s.kind} index, ${s.effort} ${s.value}`;
}
