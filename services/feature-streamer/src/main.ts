import { runServiceMain } from "@mlsd/service-kit";
import { featureStreamerService } from "./service";

await runServiceMain(featureStreamerService);
