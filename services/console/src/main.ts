import { runServiceMain } from "@mlsd/service-kit";
import { consoleService } from "./service";

await runServiceMain(consoleService);
