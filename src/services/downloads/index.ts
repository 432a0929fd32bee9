// The downloads area of a project: files streamed to R2 with their SHA-256, described in D1.
export * from "./files";
export * from "./labels";
export * from "./serve";
export * from "./store";
