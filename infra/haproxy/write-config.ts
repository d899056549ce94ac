// Regenerates infra/haproxy/haproxy.cfg from config.ts (`npm run haproxy-config -w @mlsd/infra`).
import { writeFileSync } from "node:fs";
import { composeHaproxyConfig, HAPROXY_CONFIG_FILE } from "./config";

writeFileSync(HAPROXY_CONFIG_FILE, composeHaproxyConfig());
process.stdout.write(`wrote ${HAPROXY_CONFIG_FILE}\n`);
