// The forge's file-level three-way merge on trees built in memory: each side's own changes are
// kept, a path both sides changed differently is a conflict (content, delete against modify, a
// file against a directory), equal changes are no conflict, and the merged objects form a pack
// that indexes back to the same ids.
import { describe, expect, it } from "vitest";
import { type FileMap, RepoBuilder } from "../../test/worker/git-fixture";
import { commitObject, mergeTrees, smallPack } from "./merge";
import { ObjectStore, Pack } from "./object-store";
import { PackIndex } from "./pack-index";
import { indexPack } from "./pack-indexer";
import { MemorySource } from "./range-source";
import { forEachTreeEntry } from "./objects";
import type { Oid } from "./oid";

async function storeOf(repo: RepoBuilder, extra: Uint8Array[] = []): Promise<ObjectStore> {
  const packs: Pack[] = [];
  for (const pack of [repo.pack().pack, ...extra]) {
    const source = new MemorySource(`mem-${Math.random()}`, pack);
    packs.push(new Pack(`p${packs.length}`, new PackIndex((await indexPack(source)).index), source));
  }
  return new ObjectStore(packs);
}

async function merge(base: FileMap, ours: FileMap, theirs: FileMap) {
  const repo = new RepoBuilder();
  const [b, o, t] = [repo.files(base), repo.files(ours), repo.files(theirs)];
  const store = await storeOf(repo);
  return { repo, store, result: await mergeTrees(store, b, o, t) };
}

async function filesOf(store: ObjectStore, tree: Oid, prefix = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const data = await store.readTyped(tree, "tree");
  const entries: [string, string, Oid][] = [];
  forEachTreeEntry(data, (mode, oid, s, e) => entries.push([mode, new TextDecoder().decode(data.subarray(s, e)), oid]));
  for (const [mode, name, oid] of entries) {
    if (mode === "40000") Object.assign(out, await filesOf(store, oid, `${prefix}${name}/`));
    else out[`${prefix}${name}`] = new TextDecoder().decode(await store.readTyped(oid, "blob"));
  }
  return out;
}

describe("three-way tree merge", () => {
  it("keeps each side's changes, in nested directories, and packs the new trees", async () => {
    const base = { "a.txt": "a\n", "lib/x.txt": "x\n", "lib/y.txt": "y\n", "doc/d.txt": "d\n" };
    // Ours changes lib/x.txt and adds new/; theirs changes lib/y.txt and deletes doc/.
    const { "doc/d.txt": _deleted, ...theirs } = base;
    const { repo, result } = await merge(
      base,
      { ...base, "lib/x.txt": "x2\n", "new/ours.txt": "o\n" },
      { ...theirs, "lib/y.txt": "y2\n" },
    );
    expect(result.conflicts).toEqual([]);
    const commit = commitObject(result.tree!, [], { name: "Merger", email: "m@example.com", time: 1_700_000_000 }, "Merge");
    const pack = smallPack([...result.objects, commit]);
    const store = await storeOf(repo, [pack]);
    expect(await filesOf(store, result.tree!)).toEqual({
      "a.txt": "a\n",
      "lib/x.txt": "x2\n",
      "lib/y.txt": "y2\n",
      "new/ours.txt": "o\n",
    });
    expect(await store.has(commit.oid)).toBe(true);
    // Only the trees the merge made are new: lib/ and the root.
    expect(result.objects.length).toBe(2);
  });

  it("names every path both sides changed differently; the same change on both sides is no conflict", async () => {
    const base = { "same.txt": "s\n", "both.txt": "b\n", "gone.txt": "g\n", "thing/inner.txt": "i\n", "keep.txt": "k\n" };
    const { "gone.txt": _gone, ...withoutGone } = base;
    const { "thing/inner.txt": _inner, ...withoutThing } = base;
    const { result } = await merge(
      base,
      { ...withoutGone, "same.txt": "s2\n", "both.txt": "ours\n", "thing/inner.txt": "i2\n" },
      { ...withoutThing, "same.txt": "s2\n", "both.txt": "theirs\n", "gone.txt": "g2\n", thing: "now a file\n" },
    );
    expect(result.tree).toBeNull();
    expect(result.conflicts).toEqual(["both.txt", "gone.txt", "thing"]);
  });

  it("merges two directories that end up alike into one tree object, packed once", async () => {
    const base = { "a/f.txt": "1\n", "b/f.txt": "1\n", "a/g.txt": "g\n", "b/g.txt": "g\n" };
    const { repo, result } = await merge(
      base,
      { ...base, "a/f.txt": "2\n", "b/f.txt": "2\n" },
      { ...base, "a/g.txt": "h\n", "b/g.txt": "h\n" },
    );
    expect(result.conflicts).toEqual([]);
    const ids = result.objects.map((o) => o.oid);
    expect(new Set(ids).size).toBe(ids.length);
    const store = await storeOf(repo, [smallPack(result.objects)]);
    expect(await filesOf(store, result.tree!)).toEqual({
      "a/f.txt": "2\n",
      "a/g.txt": "h\n",
      "b/f.txt": "2\n",
      "b/g.txt": "h\n",
    });
  });
});
