import { runServiceMain } from "@mlsd/service-kit";
import { eventLoggerService } from "./service";

await runServiceMain(eventLoggerService);
