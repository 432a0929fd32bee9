// The wiki's use-cases (pages, revisions, labels, resources, search), for routes and other services.
export * from "./names";
export * from "./pages";
export * from "./write";
export * from "./resources";
export * from "./search";
