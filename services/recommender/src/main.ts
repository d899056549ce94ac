import { runServiceMain } from "@mlsd/service-kit";
import { recommenderService } from "./service";

await runServiceMain(recommenderService);
