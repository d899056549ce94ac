export { LinalgError } from "./errors";
export { orthonormalizeRows, symmetricEigen, topEigenGram } from "./eigen";
export type { SparseRows, SymmetricEigen, TopEigen, TopEigenOptions } from "./eigen";
export { spdInverse, SymmetricWorkspace } from "./spd-inverse";
export { choleskyFactorInPlace, choleskySolveInPlace } from "./cholesky";
export { gram, matmul, matmulTransposedB } from "./matmul";
export type { MatmulOptions } from "./matmul";
