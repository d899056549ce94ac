import fs from "node:fs";
import path from "node:path";
import { GbdtModel } from "@mlsd/gbdt";

/** The file a GBDT model is stored in, in every format that holds one. */
export const GBDT_MODEL_FILE = "model.json";

export function writeGbdt(dir: string, model: GbdtModel): void {
  fs.writeFileSync(path.join(dir, GBDT_MODEL_FILE), JSON.stringify(model.toJSON()));
}

export function readGbdt(file: string): GbdtModel {
  return GbdtModel.parse(fs.readFileSync(file, "utf8"));
}
