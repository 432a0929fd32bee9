// Applies a parsed patch series to a base commit the way `git am` does: each patch's hunks with
// their context matching exactly (a hunk may sit at another line, as git apply allows), new,
// deleted and renamed files and mode changes from git's headers, then a commit per patch (its
// author and date from the patch, the uploader as committer). Nothing is written: the caller
// gets the new blobs, trees and commits to push. A patch that does not apply is a 4xx naming it.
import { applyPatch } from "diff";
import { commitObject, type NewObject, type Person, treeObject } from "../../git/merge";
import type { ObjectStore } from "../../git/object-store";
import { forEachTreeEntry, isTreeMode } from "../../git/objects";
import { hashObject, type Oid } from "../../git/oid";
import { badRequest, ForgeError } from "../../utils/errors";
import { Pacer } from "../../utils/pace";
import { binaryToBytes, bytesToBinary, type FileChange, type ParsedPatch } from "./patch-series";

/** Largest file a patch may change (bytes): it is read whole to apply the hunks. */
export const PATCHED_FILE_MAX = 8 * 1024 * 1024;
/**
 * Most bytes of new objects a series may make: they are held in memory until pushed, and the pack
 * of them is built whole (push-merge.ts), so an isolate holds about three times this at most.
 */
export const SERIES_OBJECTS_MAX = 16 * 1024 * 1024;

interface Entry {
  mode: string;
  oid: Oid;
}

export interface AppliedSeries {
  head: Oid;
  /** The new commits, first to last, with the patch each came from. */
  commits: { oid: Oid; patch: ParsedPatch }[];
  /** Every new object (blobs, trees, commits), each once. */
  objects: NewObject[];
}

const decoder = new TextDecoder();

/** Objects made so far, read before the repository's. */
class Overlay {
  readonly objects = new Map<Oid, NewObject>();
  private bytes = 0;
  constructor(readonly store: ObjectStore) {}

  add(o: NewObject): Oid {
    if (this.objects.has(o.oid)) return o.oid;
    this.bytes += o.data.length;
    if (this.bytes > SERIES_OBJECTS_MAX)
      throw new ForgeError(
        "payload_too_large",
        `The series makes over ${SERIES_OBJECTS_MAX / 1024 / 1024} MiB of new files and trees: push a branch instead.`,
      );
    this.objects.set(o.oid, o);
    return o.oid;
  }

  async read(oid: Oid, type: "tree" | "blob"): Promise<Uint8Array> {
    return this.objects.get(oid)?.data ?? this.store.readTyped(oid, type);
  }

  async entries(tree: Oid | null): Promise<Map<string, Entry>> {
    const out = new Map<string, Entry>();
    if (!tree) return out;
    const data = await this.read(tree, "tree");
    forEachTreeEntry(data, (mode, oid, s, e) => out.set(decoder.decode(data.subarray(s, e)), { mode, oid }));
    return out;
  }

  async lookup(tree: Oid, path: string): Promise<Entry | null> {
    const parts = path.split("/");
    let at: Oid = tree;
    for (let i = 0; i < parts.length; i++) {
      const e = (await this.entries(at)).get(parts[i]!);
      if (!e) return null;
      if (i === parts.length - 1) return e;
      if (!isTreeMode(e.mode)) return null;
      at = e.oid;
    }
    return null;
  }
}

/**
 * Applies `patches` in order on `base` (a commit and its root tree). `fallback` is the author of a
 * bare diff without mail headers; `committer` commits every patch.
 */
export async function applySeries(
  store: ObjectStore,
  base: { commit: Oid; tree: Oid },
  patches: ParsedPatch[],
  committer: Person,
  fallback: Person,
  /** The message of a patch that has none (a bare diff): the review's title. */
  fallbackMessage = "Patch",
  /** Applying hunks to large files is CPU work: other requests get turns between files. */
  pacer = new Pacer(64, 1024 * 1024),
): Promise<AppliedSeries> {
  const overlay = new Overlay(store);
  const commits: AppliedSeries["commits"] = [];
  let parent = base.commit;
  let tree = base.tree;
  for (const patch of patches) {
    const name = patches.length > 1 ? `Patch ${patch.number}/${patches.length} ("${patch.subject}")` : `The patch`;
    const changes = new Map<string, Entry | null>();
    for (const file of patch.files) await pacer.tick(await applyFile(overlay, tree, changes, file, name));
    tree =
      (await writeTree(
        overlay,
        tree,
        [...changes].map(([p, e]) => [p.split("/"), e]),
      )) ?? overlay.add(treeObject(new Map()));
    // A mail without a Date keeps its author but takes the upload's time; a bare diff, the uploader.
    const author = patch.author ? (patch.author.time ? patch.author : { ...patch.author, time: fallback.time }) : fallback;
    const commit = commitObject(tree, [parent], author, patch.subject ? patch.message : `${fallbackMessage}\n`, committer);
    parent = overlay.add(commit);
    commits.push({ oid: commit.oid, patch });
  }
  return { head: parent, commits, objects: [...overlay.objects.values()] };
}

/** The file as this patch sees it: changed earlier in the same patch, else in the tree. */
async function current(overlay: Overlay, tree: Oid, changes: Map<string, Entry | null>, path: string) {
  return changes.has(path) ? changes.get(path)! : overlay.lookup(tree, path);
}

/** Applies one file's change into `changes`; returns the bytes it handled. */
async function applyFile(
  overlay: Overlay,
  tree: Oid,
  changes: Map<string, Entry | null>,
  f: FileChange,
  name: string,
): Promise<number> {
  const path = f.newPath ?? f.oldPath!;
  const old = f.oldPath === null ? null : await current(overlay, tree, changes, f.oldPath);
  if (f.oldPath !== null && (!old || isTreeMode(old.mode)))
    throw badRequest(`${name} does not apply: ${f.oldPath} does not exist in the tree it is applied to.`);
  if (f.newPath !== null && f.newPath !== f.oldPath && (await current(overlay, tree, changes, f.newPath)))
    throw badRequest(`${name} does not apply: ${f.newPath} already exists.`);
  let source = "";
  if (old) {
    const data = await overlay.read(old.oid, "blob");
    if (data.length > PATCHED_FILE_MAX)
      throw badRequest(
        `${name} changes ${f.oldPath}, which is over ${PATCHED_FILE_MAX / 1024 / 1024} MiB: push a branch instead.`,
      );
    source = bytesToBinary(data);
  }
  const result = f.patch.hunks.length ? applyPatch(source, f.patch, { autoConvertLineEndings: false }) : source;
  if (result === false)
    throw badRequest(
      `${name} does not apply to ${path}: its context does not match the file at the base. Choose the commit the series was made on as its base.`,
    );
  if (f.newPath === null) {
    if (result !== "") throw badRequest(`${name} deletes ${f.oldPath}, but the file has more than the patch removes.`);
    changes.set(f.oldPath!, null);
    return source.length;
  }
  const data = binaryToBytes(result);
  const blob: NewObject = { type: "blob", data, oid: hashObject("blob", data) };
  const mode = f.newMode ?? old?.mode ?? "100644";
  if (!["100644", "100755", "120000"].includes(mode))
    throw badRequest(`${name} gives ${path} the mode ${mode}, which git does not use.`);
  if (f.oldPath !== null && f.oldPath !== f.newPath) changes.set(f.oldPath, null);
  changes.set(f.newPath, { mode, oid: overlay.add(blob) });
  return source.length + data.length;
}

/** The tree with `changes` (path segments → entry, null: removed); null when it ends up empty. */
async function writeTree(overlay: Overlay, tree: Oid | null, changes: [string[], Entry | null][]): Promise<Oid | null> {
  const entries = await overlay.entries(tree);
  const deeper = new Map<string, [string[], Entry | null][]>();
  for (const [parts, entry] of changes) {
    const [first, ...rest] = parts as [string, ...string[]];
    if (rest.length) {
      deeper.set(first, [...(deeper.get(first) ?? []), [rest, entry]]);
      continue;
    }
    if (entry) entries.set(first, entry);
    else entries.delete(first);
  }
  for (const [dir, sub] of deeper) {
    const existing = entries.get(dir);
    if (existing && !isTreeMode(existing.mode)) {
      // A file where the patch wants a directory: only if every change in it removes something.
      if (sub.some(([, e]) => e)) throw badRequest(`${dir} is a file, not a directory, in the tree the patch is applied to.`);
      continue;
    }
    const oid = await writeTree(overlay, existing?.oid ?? null, sub);
    if (oid) entries.set(dir, { mode: "40000", oid });
    else entries.delete(dir);
  }
  if (!entries.size) return null;
  const t = treeObject(entries);
  return t.oid === tree ? tree : overlay.add(t);
}
