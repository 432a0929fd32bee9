// Code reviews: review requests of a branch into another, their revisions, comments and verdicts,
// and merging them by the forge.
export * from "./model";
export * from "./revisions";
export * from "./merge";
export * from "./comments";
export * from "./patches";
