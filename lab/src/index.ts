export { CATALOGUE, catalogueEntryFor, type CatalogueEntry } from "./catalogue";
export { CLAIMS, findClaim } from "./claims/index";
export { runClaim, type ClaimOutcome, type RunOptions } from "./harness/run";
export { writeClaim, writeIndex, readResults } from "./harness/output";
export type { ClaimExperiment, ExperimentReport } from "./harness/experiment";
