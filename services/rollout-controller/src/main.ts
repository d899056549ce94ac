import { runServiceMain } from "@mlsd/service-kit";
import { rolloutControllerService } from "./service";

await runServiceMain(rolloutControllerService);
