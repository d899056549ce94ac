import { runServiceMain } from "@mlsd/service-kit";
import { faultProxyService } from "./service";

await runServiceMain(faultProxyService);
