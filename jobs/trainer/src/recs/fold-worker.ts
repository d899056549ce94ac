import { serveTasks } from "../worker-pool";
import { buildFoldRows, type FoldRows, type FoldTask } from "./two-stage";

// The worker-thread side of buildRankerRows: one fold's signal fit and rows per task.
serveTasks<FoldTask, FoldRows>(async (task) => {
  const rows = await buildFoldRows(task);
  return { result: rows, transfer: [rows.data.buffer, rows.labels.buffer, rows.groupSizes.buffer, rows.groupValid.buffer] };
});
