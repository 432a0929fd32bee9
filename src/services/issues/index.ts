// The issue tracker's services: its vocabulary and rights (model.ts), filing (create.ts), the
// issue page (read.ts), changes and stars (update.ts). Lists and search are in lists.ts.
export * from "./model";
export { createIssue, type IssueInput } from "./create";
export * from "./read";
export { setStar, updateIssue, type UpdateOptions, type UpdateResult } from "./update";
