export * from "./classification";
export * from "./ranking";
