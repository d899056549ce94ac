import { serveTasks } from "../worker-pool";
import { boostFromTask, buildFoldRows, type RankerWorkerResult, type RankerWorkerTask } from "./two-stage";

// The worker-thread side of the ranker's training: one fold's signal fit and rows, or one bag
// member's boosting, per task.
serveTasks<RankerWorkerTask, RankerWorkerResult>(async (task) => {
  if (task.kind === "boost") return { result: { kind: "boost", ranker: boostFromTask(task.boost) } };
  const rows = await buildFoldRows(task.fold);
  return { result: { kind: "fold", rows }, transfer: [rows.data.buffer, rows.labels.buffer, rows.groupSizes.buffer, rows.groupValid.buffer] };
});
