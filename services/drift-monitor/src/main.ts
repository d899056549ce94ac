import { runServiceMain } from "@mlsd/service-kit";
import { driftMonitorService } from "./service";

await runServiceMain(driftMonitorService);
