// Dependencies under src/ point one way: no file cycles, and no import from a lower layer up to
// a higher one (routes -> services -> repo/storage/git/db/auth -> utils); and files stay small.
import { describe, expect, it } from "vitest";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { projectRoot } from "../../scripts/local/build";

const src = join(projectRoot, "src");

/**
 * Layers, highest first: a file may import from its own layer or any lower one. edge/ and push/
 * are the two workers' entries and assembly; views are beside the routes that render them; auth
 * decides and parses (lookups are services); obs and env.ts are read by every layer.
 */
const RANKS: Record<string, number> = {
  edge: 5,
  push: 5,
  routes: 4,
  views: 4,
  services: 3,
  repo: 2,
  storage: 2,
  git: 2,
  db: 2,
  auth: 2,
  obs: 1,
  env: 1,
  utils: 1,
};

/** What git/ may import besides itself: it is plumbing over bytes, with no bindings or database. */
const GIT_MAY_IMPORT = new Set(["git", "utils"]);

/**
 * env.ts declares the workers' bindings, which name the Durable Object class by type only (erased
 * at build): its imports are not followed, else every file that reads a binding would be in a cycle.
 */
const UNFOLLOWED = new Set(["env.ts"]);

/** Upward imports still to be removed (from -> to); the list only shrinks. */
const ALLOWED_UPWARD = new Set<string>([
  // The cached pages' key names the stylesheet's hash; to go when the render version is derived at build.
  "services/page-cache.ts -> views/style.ts",
]);

interface Import {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) ? [relative(src, path)] : [];
  });
}

function resolveSpecifier(from: string, spec: string): string {
  const base = join(dirname(from), spec);
  const found = ["", ".ts", ".tsx", "/index.ts", "/index.tsx"]
    .map((ext) => base + ext)
    .find((p) => existsSync(join(src, p)) && statSync(join(src, p)).isFile());
  if (!found) throw new Error(`${from} imports ${spec}, which is no file under src/`);
  return found;
}

/** Every relative import and re-export of the files under src/, static or dynamic. */
function importsUnderSrc(): Import[] {
  const statement = /^\s*(?:import|export)\s+(type\s+)?(?:([^"';]*?)\s+from\s+)?["'](\.[^"']*)["']/gm;
  const dynamic = /\bimport\(\s*["'](\.[^"']*)["']\s*\)/g;
  return sourceFiles(src).flatMap((from) => {
    const text = readFileSync(join(src, from), "utf8");
    const found: Import[] = [];
    for (const m of text.matchAll(statement)) {
      // `import { type A, type B }` is as erased as `import type { A, B }`.
      const onlyTypes = !!m[1] || /^\{\s*(?:type\s+[\w$]+(?:\s+as\s+[\w$]+)?\s*,?\s*)+\}$/.test(m[2] ?? "");
      found.push({ from, to: resolveSpecifier(from, m[3]!), typeOnly: onlyTypes });
    }
    for (const m of text.matchAll(dynamic)) found.push({ from, to: resolveSpecifier(from, m[1]!), typeOnly: false });
    return found;
  });
}

const layerOf = (file: string) => file.split("/")[0]!.replace(/\.tsx?$/, "");

/** Cycles among files (type-only imports included: they couple files as much), each as a path. */
function cycles(edges: Import[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    if (UNFOLLOWED.has(e.from)) continue;
    next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  }
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const to of next.get(file) ?? []) {
      if (state.get(to) === "open") found.push([...stack.slice(stack.indexOf(to)), to]);
      else if (!state.has(to)) visit(to);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of [...next.keys()].sort()) if (!state.has(file)) visit(file);
  return found;
}

describe("imports under src/", () => {
  const edges = importsUnderSrc();

  it("finds the files and their imports", () => {
    expect(edges.length).toBeGreaterThan(300);
    for (const e of edges) expect(RANKS[layerOf(e.from)], `layer of ${e.from}`).toBeDefined();
  });

  it("has no cycle between files", () => {
    expect(cycles(edges).map((c) => c.join(" -> "))).toEqual([]);
  });

  it("imports only from its own layer or a lower one", () => {
    const upward = edges
      .filter((e) => !UNFOLLOWED.has(e.from))
      .filter((e) => RANKS[layerOf(e.to)]! > RANKS[layerOf(e.from)]!)
      .map((e) => `${e.from} -> ${e.to}`)
      .filter((e) => !ALLOWED_UPWARD.has(e));
    expect(upward).toEqual([]);
  });

  it("keeps git/ free of anything but utils", () => {
    const outside = edges.filter((e) => layerOf(e.from) === "git" && !GIT_MAY_IMPORT.has(layerOf(e.to)));
    expect(outside.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it("imports only types from env.ts, whose imports are not followed", () => {
    expect(edges.filter((e) => UNFOLLOWED.has(e.from) && !e.typeOnly)).toEqual([]);
  });

  it("keeps every file under src/ within 400 lines (a longer one holds more than one job)", () => {
    const long = sourceFiles(src)
      .map((f) => ({ f, lines: readFileSync(join(src, f), "utf8").split("\n").length - 1 }))
      .filter((x) => x.lines > 400)
      .map((x) => `${x.f}: ${x.lines} lines`);
    expect(long).toEqual([]);
  });

  it("lists only upward imports that still exist", () => {
    const present = new Set(edges.map((e) => `${e.from} -> ${e.to}`));
    expect([...ALLOWED_UPWARD].filter((e) => !present.has(e))).toEqual([]);
  });
});
