// How a compaction finds the objects it walks and copies (issue 19): through the packs' id tables,
// read once by large reads, not one ranged binary search of an index an object (on git/git's
// 900,000 objects the walk had not reached the pack write after 25 minutes). Counted in index
// lookups and index reads from R2, on packs whose indexes are read by ranges as a large
// repository's are, also when the small packs of later pushes (indexes held whole) come first.
import { idTableFileOf } from "../../src/git/pack-id-table-file";
import { env as workerEnv } from "cloudflare:workers";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import { ObjectStore, resolvedCacheBytes } from "../../src/git/object-store";
import { OidTypeMap } from "../../src/git/oid-map";
import { PackIndex } from "../../src/git/pack-index";
import { RangedPackIndex } from "../../src/git/pack-index-ranged";
import { indexPack } from "../../src/git/pack-indexer";
import type { Oid } from "../../src/git/oid";
import { MemorySource, windowCacheBytes } from "../../src/git/range-source";
import { WALK_SLAB_BYTES, WALK_WINDOW_BYTES } from "../../src/git/walk-reader";
import { compactPacks } from "../../src/repo/compaction";
import type { PackEntry, RepoSnapshot } from "../../src/repo/snapshot";
import { r2Keys } from "../../src/storage/keys";
import { setWholeIndexMax } from "../../src/storage/pack-store";
import { RepoBuilder, type FileMap } from "./git-fixture";

const env = workerEnv as unknown as Env;
const tenantId = `compact-look-${Date.now().toString(36)}`;

/** 40 commits of 400 files: the first 30 in one pack (an import), the last 10 in a small one (pushes). */
function history(): { tip: Oid; objects: number; packs: Uint8Array[] } {
  const builder = new RepoBuilder();
  const files: FileMap = {};
  for (let i = 0; i < 400; i++) files[`d${i % 10}/e${i % 3}/f${i}.txt`] = `file ${i}\n`;
  let tip = builder.commit({ files, message: "start" });
  let imported = 0;
  for (let c = 1; c < 40; c++) {
    if (c === 30) imported = builder.objects.size;
    for (let k = 0; k < 6; k++) files[`d${(c + k) % 10}/e${k % 3}/f${(c * 7 + k) % 400}.txt`] = `changed at ${c}.${k}\n`;
    tip = builder.commit({ files, parents: [tip], message: `change ${c}` });
  }
  const all = [...builder.objects.keys()];
  return {
    tip,
    objects: all.length,
    packs: [builder.pack(all.slice(0, imported)).pack, builder.pack(all.slice(imported)).pack],
  };
}

let fixture: ReturnType<typeof history>;
const stored: PackEntry[] = [];
let previousMax = 0;

beforeAll(async () => {
  fixture = history();
  for (const [k, pack] of fixture.packs.entries()) {
    const name = `pack-look${k}`;
    const { index, count } = await indexPack(new MemorySource(name, pack));
    for (const repoId of ["ranged", "mixed", "forget", "own-walk"]) {
      await env.OBJECTS.put(r2Keys.pack(tenantId, repoId, name), pack);
      await env.OBJECTS.put(r2Keys.packIndex(tenantId, repoId, name), index);
    }
    stored.push({ name, objects: count, bytes: pack.length, createdAt: 0 });
  }
  previousMax = setWholeIndexMax(0);
});
afterAll(() => {
  setWholeIndexMax(previousMax);
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** The compaction of `packs` (in that catalog order), counting index lookups and index reads from R2. */
async function compactCounted(repoId: string, packs: PackEntry[]) {
  const snapshot: RepoSnapshot = {
    version: 1,
    head: "refs/heads/main",
    refs: [{ name: "refs/heads/main", oid: fixture.tip }],
    packs,
  };
  const rangedLookups = vi.spyOn(RangedPackIndex.prototype, "lookup");
  const wholeLookups = vi.spyOn(PackIndex.prototype, "lookup");
  let indexReads = 0;
  const bucket = new Proxy(env.OBJECTS, {
    get(target, prop) {
      if (prop === "get") {
        return (key: string, options?: R2GetOptions) => {
          if (key.endsWith(".idx")) indexReads++;
          return target.get(key, options);
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const entry = await compactPacks({ ...env, OBJECTS: bucket } as Env, { tenantId, repoId }, snapshot);
  // The compacted pack is whole, and its .idx is what git's indexer makes of it.
  const pack = new Uint8Array(await (await env.OBJECTS.get(r2Keys.pack(tenantId, repoId, entry.name)))!.arrayBuffer());
  const idx = new Uint8Array(await (await env.OBJECTS.get(r2Keys.packIndex(tenantId, repoId, entry.name)))!.arrayBuffer());
  const indexed = await indexPack(new MemorySource(`${repoId}-compacted`, pack));
  expect(indexed.count).toBe(fixture.objects);
  expect(idx).toEqual(indexed.index);
  // Its index is read by ranges: the id table file beside it is derived from that .idx.
  const ids = await env.OBJECTS.get(r2Keys.packIdTable(tenantId, repoId, entry.name));
  expect(new Uint8Array(await ids!.arrayBuffer())).toEqual(idTableFileOf(idx));
  return { entry, lookups: rangedLookups.mock.calls.length + wholeLookups.mock.calls.length, indexReads };
}

describe("a compaction's object lookups", () => {
  it("looks every object up in the packs' id tables: no index lookup an object", async () => {
    const { entry, lookups, indexReads } = await compactCounted("ranged", stored);
    expect(entry.objects).toBe(fixture.objects);
    // Before: each object was looked up through the ranged indexes, in the walk and again for the
    // pack's plan (about 3 lookups an object here, and 5 index reads from R2 on a cold cache).
    expect(lookups).toBe(0);
    // Opening each index (its fan-out table), then its ids and offsets in one pass for the id
    // table and one for the copier's entry ends: whatever the number of objects.
    expect(indexReads).toBeLessThanOrEqual(5 * stored.length);
  });

  it("also when the packs of later pushes, small enough to hold their index whole, come first", async () => {
    // The push's index is held whole, the import's read by ranges; the catalog lists the push
    // first. Before, the id tables gave up at the first pack without one, and asked the indexes.
    expect(stored[1]!.objects).toBeLessThan(stored[0]!.objects);
    setWholeIndexMax(8 + 1024 + stored[1]!.objects * 28 + 40);
    try {
      const { entry, lookups } = await compactCounted("mixed", [stored[1]!, stored[0]!]);
      expect(entry.objects).toBe(fixture.objects);
      expect(lookups).toBe(0);
    } finally {
      setWholeIndexMax(0);
    }
  });

  it("lets go what only the lookups and the walk needed before the pack is written", async () => {
    // More objects than the set's smallest size: grown by doubling, it would be copied once here.
    expect(fixture.objects).toBeGreaterThan(1024);
    const grown = vi.spyOn(OidTypeMap.prototype as unknown as { grow(): void }, "grow");
    const windowsBefore = windowCacheBytes();
    const resolvedBefore = resolvedCacheBytes();
    const tablesDropped = vi.spyOn(ObjectStore.prototype, "useLocator");
    let atWrite: { windows: number; resolved: number; tablesDropped: boolean } | null = null;
    const note = () => {
      atWrite ??= {
        windows: windowCacheBytes(),
        resolved: resolvedCacheBytes(),
        tablesDropped: tablesDropped.mock.calls.some(([l]) => l === null),
      };
    };
    const bucket = new Proxy(env.OBJECTS, {
      get(target, prop) {
        if (prop === "put" || prop === "createMultipartUpload") {
          return (key: string, ...rest: unknown[]) => {
            if (key.endsWith(".pack")) note();
            return (target[prop] as (...a: unknown[]) => unknown)(key, ...rest);
          };
        }
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const snapshot: RepoSnapshot = {
      version: 1,
      head: "refs/heads/main",
      refs: [{ name: "refs/heads/main", oid: fixture.tip }],
      packs: stored,
    };
    const entry = await compactPacks({ ...env, OBJECTS: bucket } as Env, { tenantId, repoId: "forget" }, snapshot);
    expect(entry.objects).toBe(fixture.objects);
    // Before: the walk's windows of the packs being compacted (retired right after) and their
    // resolved trees and commits stayed in the shared caches, and the id tables in the store,
    // all through the write: on big.git 24 + 16 + 10.8 MiB beside the writer's columns.
    expect(atWrite).toEqual({ windows: windowsBefore, resolved: resolvedBefore, tablesDropped: true });
    // The walk's object set is made once, as large as the packs' objects (was grown by doubling).
    expect(grown).not.toHaveBeenCalled();
  });

  it("walks through a reader of its own: the shared caches are not filled, its own bytes are bounded", async () => {
    const shared = () => windowCacheBytes() + resolvedCacheBytes();
    const before = shared();
    let most = before;
    let gets = 0;
    // Sampled at every storage read (the walk's reads included) and when the pack is written.
    const bucket = new Proxy(env.OBJECTS, {
      get(target, prop) {
        if (prop === "get" || prop === "createMultipartUpload" || prop === "put") {
          return (...args: unknown[]) => {
            most = Math.max(most, shared());
            if (prop === "get") gets++;
            return (target[prop] as (...a: unknown[]) => unknown)(...args);
          };
        }
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const logged: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((line: unknown) => void logged.push(String(line)));
    const snapshot: RepoSnapshot = {
      version: 1,
      head: "refs/heads/main",
      refs: [{ name: "refs/heads/main", oid: fixture.tip }],
      packs: stored,
    };
    const entry = await compactPacks({ ...env, OBJECTS: bucket } as Env, { tenantId, repoId: "own-walk" }, snapshot);
    log.mockRestore();
    expect(entry.objects).toBe(fixture.objects);
    expect(gets).toBeGreaterThan(0);
    // Before: every commit and tree the walk read went through the isolate's shared windows and
    // resolved objects (on big.git 24 + 16 MiB, each window and object a buffer of its own).
    expect(most).toBe(before);
    const line = logged.find((l) => l.includes("compaction {"))!;
    const cost = JSON.parse(/compaction (\{.*\})/.exec(JSON.parse(line).message)![1]!) as {
      walkBytes: number;
      walkReads: number;
    };
    expect(cost.walkReads).toBeGreaterThan(0);
    expect(cost.walkBytes).toBeLessThanOrEqual(WALK_WINDOW_BYTES + WALK_SLAB_BYTES + 256 * 1024);
  });
});
