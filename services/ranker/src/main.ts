import { runServiceMain } from "@mlsd/service-kit";
import { rankerService } from "./service";

await runServiceMain(rankerService);
