/**
 * One regression tree as parallel arrays indexed by node id (root 0). A node is a leaf when
 * left[i] === -1. Internal nodes send a row left when x[feature] <= threshold, and a missing
 * value (NaN) left when defaultLeft[i] === 1. `value` is the leaf output already scaled by the
 * learning rate (internal nodes keep the value they would have had as a leaf); `gain` is the
 * split's loss reduction, `cover` the training hessian sum and `count` the training rows.
 */
export interface Tree {
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly defaultLeft: Uint8Array;
  readonly value: Float64Array;
  readonly gain: Float64Array;
  readonly cover: Float64Array;
  readonly count: Float64Array;
}

export function leafIndex(tree: Tree, row: ArrayLike<number>): number {
  const { left, right, feature, threshold, defaultLeft } = tree;
  let node = 0;
  while ((left[node] as number) >= 0) {
    const x = row[feature[node] as number] as number;
    const goLeft = x <= (threshold[node] as number) || (x !== x && defaultLeft[node] === 1);
    node = goLeft ? (left[node] as number) : (right[node] as number);
  }
  return node;
}

export function treeDepth(tree: Tree, node = 0): number {
  const l = tree.left[node] as number;
  if (l < 0) return 0;
  return 1 + Math.max(treeDepth(tree, l), treeDepth(tree, tree.right[node] as number));
}

export function numLeaves(tree: Tree): number {
  let leaves = 0;
  for (let i = 0; i < tree.left.length; i++) if ((tree.left[i] as number) < 0) leaves++;
  return leaves;
}
