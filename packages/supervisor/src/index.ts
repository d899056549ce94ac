export { Supervisor, readPids } from "./supervisor";
export type { Supervised, SupervisorOptions, StartOptions, PidsFile } from "./supervisor";
