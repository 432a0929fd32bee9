// Applying parsed patches to a tree like git am: a renamed and changed file, a directory that a
// deletion empties, refusals that name the patch and file (context, existing file, a deletion of
// more than the file), the bound on new bytes, and turns for other requests between files.
import { describe, expect, it } from "vitest";
import { treeObject, type NewObject } from "../../git/merge";
import type { ObjectStore } from "../../git/object-store";
import { hashObject, type Oid } from "../../git/oid";
import type { ForgeError } from "../../utils/errors";
import { Pacer } from "../../utils/pace";
import { applySeries, SERIES_OBJECTS_MAX } from "./patch-apply";
import { parseSeries } from "./patch-series";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A store of whole objects, and a tree of files built into it. */
function repo(files: Record<string, string | Uint8Array>) {
  const objects = new Map<Oid, NewObject>();
  const put = (o: NewObject) => {
    objects.set(o.oid, o);
    return o.oid;
  };
  const blob = (data: Uint8Array) => put({ type: "blob", data, oid: hashObject("blob", data) });
  const build = (prefix: string): Oid => {
    const entries = new Map<string, { mode: string; oid: Oid }>();
    for (const [path, content] of Object.entries(files)) {
      if (!path.startsWith(prefix)) continue;
      const [first, ...rest] = path.slice(prefix.length).split("/");
      if (rest.length) entries.set(first!, { mode: "40000", oid: build(`${prefix}${first}/`) });
      else entries.set(first!, { mode: "100644", oid: blob(typeof content === "string" ? enc.encode(content) : content) });
    }
    return put(treeObject(entries));
  };
  const tree = build("");
  const store = {
    readTyped: async (oid: Oid) => objects.get(oid)!.data,
  } as unknown as ObjectStore;
  return { store, tree, objects };
}

const who = { name: "Uploader", email: "up@example.com", time: 1_800_000_000 };
const series = (diff: string) =>
  parseSeries(
    enc.encode(`From: A <a@example.com>\nDate: Tue, 3 Nov 2026 10:00:00 +0200\nSubject: [PATCH] Change\n\n---\n${diff}`),
  ).patches;

async function files(r: ReturnType<typeof repo>, made: NewObject[], tree: Oid, prefix = ""): Promise<Record<string, string>> {
  const all = new Map([...r.objects, ...made.map((o) => [o.oid, o] as const)]);
  const out: Record<string, string> = {};
  const data = all.get(tree)!.data;
  let p = 0;
  while (p < data.length) {
    const sp = data.indexOf(0x20, p);
    const nul = data.indexOf(0, sp);
    const mode = dec.decode(data.subarray(p, sp));
    const name = dec.decode(data.subarray(sp + 1, nul));
    const oid = [...data.subarray(nul + 1, nul + 21)].map((b) => b.toString(16).padStart(2, "0")).join("");
    if (mode === "40000") Object.assign(out, await files(r, made, oid, `${prefix}${name}/`));
    else out[`${prefix}${name}`] = `${mode}:${dec.decode(all.get(oid)!.data)}`;
    p = nul + 21;
  }
  return out;
}

async function refusal(p: Promise<unknown>): Promise<ForgeError> {
  try {
    await p;
  } catch (err) {
    return err as ForgeError;
  }
  throw new Error("not refused");
}

describe("applySeries", () => {
  it("renames and changes a file, drops a directory its deletion empties, and commits with the patch's author", async () => {
    const r = repo({ "old.txt": "a\nb\nc\n", "docs/only.txt": "x\n", "keep.txt": "k\n" });
    const patches = series(`diff --git a/old.txt b/new/place.txt
similarity index 60%
rename from old.txt
rename to new/place.txt
index 1111111..2222222 100644
--- a/old.txt
+++ b/new/place.txt
@@ -1,3 +1,3 @@
 a
-b
+B
 c
diff --git a/docs/only.txt b/docs/only.txt
deleted file mode 100644
--- a/docs/only.txt
+++ /dev/null
@@ -1 +0,0 @@
-x
`);
    const applied = await applySeries(r.store, { commit: "1".repeat(40), tree: r.tree }, patches, who, who);
    const commit = applied.objects.find((o) => o.oid === applied.head)!;
    const text = dec.decode(commit.data);
    expect(text).toContain(
      `parent ${"1".repeat(40)}\nauthor A <a@example.com> ${Date.parse("2026-11-03T08:00:00Z") / 1000} +0200\n`,
    );
    expect(text).toContain("committer Uploader <up@example.com> 1800000000 +0000");
    const tree = /^tree ([0-9a-f]{40})/.exec(text)![1]!;
    expect(await files(r, applied.objects, tree)).toEqual({ "keep.txt": "100644:k\n", "new/place.txt": "100644:a\nB\nc\n" });
  });

  it("refuses, naming the patch and the file, what git am would not apply", async () => {
    const r = repo({ "a.txt": "one\ntwo\n", "b.txt": "b\nmore\n" });
    const base = { commit: "1".repeat(40), tree: r.tree };
    const stale = series("diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n one\n-zwei\n+TWO\n");
    expect((await refusal(applySeries(r.store, base, stale, who, who))).message).toContain("does not apply to a.txt");
    const exists = series("diff --git a/b.txt b/b.txt\nnew file mode 100644\n--- /dev/null\n+++ b/b.txt\n@@ -0,0 +1 @@\n+b\n");
    expect((await refusal(applySeries(r.store, base, exists, who, who))).message).toContain("b.txt already exists");
    const partial = series(
      "diff --git a/b.txt b/b.txt\ndeleted file mode 100644\n--- a/b.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-b\n",
    );
    const err = await refusal(applySeries(r.store, base, partial, who, who));
    expect([err.status, err.message]).toEqual([400, expect.stringContaining("b.txt")]);
    const missing = series("diff --git a/c.txt b/c.txt\n--- a/c.txt\n+++ b/c.txt\n@@ -1 +1 @@\n-c\n+C\n");
    expect((await refusal(applySeries(r.store, base, missing, who, who))).message).toContain("c.txt does not exist");
  });

  it("bounds the bytes a series makes, and lets other requests in between files", async () => {
    // 6 MiB of 64-byte lines.
    const line = `${"a".repeat(63)}\n`;
    const lines = (6 * 1024 * 1024) / 64;
    const big = enc.encode(line.repeat(lines));
    const r = repo({ "x1.bin": big, "x2.bin": big, "x3.bin": big, "small.txt": "s\n" });
    const touch = (f: string) => `diff --git a/${f} b/${f}\nold mode 100644\nnew mode 100755\n`;
    // A mode change makes no new blob: three of them stay within the bound.
    let yields = 0;
    const pacer = new Pacer(1, Number.POSITIVE_INFINITY, async () => void yields++);
    const base = { commit: "1".repeat(40), tree: r.tree };
    await applySeries(r.store, base, series(touch("x1.bin") + touch("x2.bin") + touch("small.txt")), who, who, "t", pacer);
    expect(yields).toBe(3);
    // Appending a line (its own to each file) to each 6 MiB file makes three new 6 MiB blobs: over the bound, 413.
    const append = (f: string) =>
      `diff --git a/${f} b/${f}\n--- a/${f}\n+++ b/${f}\n@@ -${lines} +${lines},2 @@\n ${line}+${f}\n`;
    const err = await refusal(
      applySeries(r.store, base, series(append("x1.bin") + append("x2.bin") + append("x3.bin")), who, who),
    );
    expect([err.status, err.message]).toEqual([413, expect.stringContaining(`${SERIES_OBJECTS_MAX / 1024 / 1024} MiB`)]);
  });
});
