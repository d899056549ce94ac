export { candidateQuery, candidatesAnswer, retrieveCandidates } from "./candidates";
export { describeLoaded, loadRetriever } from "./load";
export { FeatureValueError, Retriever, type CandidateQuery, type Candidates, type SearchEfforts, type SearchMode } from "./retriever";
