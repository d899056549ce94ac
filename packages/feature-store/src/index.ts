export * from "./fraud/index";
