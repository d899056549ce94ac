import { runServiceMain } from "@mlsd/service-kit";
import { retrievalService } from "./service";

await runServiceMain(retrievalService);
