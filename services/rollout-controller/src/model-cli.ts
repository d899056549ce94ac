import os from "node:os";
import { runModelCli } from "./model-command";

function login(): string | undefined {
  try {
    return os.userInfo().username;
  } catch {
    return undefined;
  }
}

const code = await runModelCli(process.argv.slice(2), { MLSD_ADMIN_TOKEN: process.env.MLSD_ADMIN_TOKEN, user: login() }, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
process.exitCode = code;
