import { runServiceMain } from "@mlsd/service-kit";
import { retrainControllerService } from "./service";

await runServiceMain(retrainControllerService);
