import { runServiceMain } from "@mlsd/service-kit";
import { fraudService } from "./service";

await runServiceMain(fraudService);
