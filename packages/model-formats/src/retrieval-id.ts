/**
 * The retrieval model's registry name and feature schema, apart from its format (which loads
 * hnswlib and TensorFlow.js), so that checks and controllers can name it without loading either.
 */
export const RETRIEVAL_MODEL_NAME = "retrieval";
/** Two-tower has no content feature schema shared with other services; the version pins everything. */
export const RETRIEVAL_FEATURE_SCHEMA = "two-tower-user-table/1";
