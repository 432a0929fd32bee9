// History pages of the repository browser: logs (of a ref or a path, paginated with a cursor),
// commits with their diff (capped, with a way to load one file's diff on its own), .patch and
// .diff downloads. Comparisons of two refs are compare.tsx, the Atom feed of a branch feed.ts.
import { Budget } from "../../../git/budget";
import { isBinary, splitLines } from "../../../git/diff";
import { countChanges, hunksText, makeHunks } from "../../../git/hunks";
import { BLOB_PREFETCH, diffTrees, type TreeChange } from "../../../git/tree-diff";
import { logPage as walkLog } from "../../../git/history";
import { RangedPackIndex } from "../../../git/pack-index-ranged";
import { prefetchObjects } from "../../../git/pack-prefetch";
import { GitError } from "../../../git/errors";
import type { Oid } from "../../../git/oid";
import { decodePathSegments } from "../../../git/tree-path";
import { readCommit, resolveRev, splitRev, shortOid, type CommitView, type SourceRepo } from "../../../services/source";
import { reachableFromRefs } from "../../../services/reachable";
import {
  type ChangeView,
  type CommitPageView,
  commitBody,
  type DiffView,
  type FileDiffView,
  type LogView,
  logBody,
} from "../../../views/source/history";
import type { CommitRow } from "../../../views/source/parts";
import { Pacer } from "../../../utils/pace";
import { notFound, type Rendered, sourceResponse, type SourcePage } from "./page";

const LOG_PAGE = 50;
/**
 * A path log shows what it found within this many commits (and a link to search on): a fixed
 * number, so that the page is the same every time and can be cached. The time limit is a guard.
 */
const PATH_LOG_BUDGET = { ms: 2_000, steps: 1_000 };

/** Commits a list page reads side by side (their reads share index pages and pack windows). */
const ROWS_BATCH = 50;

/** Storage reads the repository's ranged pack indexes made for this request (for Server-Timing). */
export const indexReads = (src: SourceRepo): number =>
  src.store.packs.reduce((n, pack) => n + (pack.index instanceof RangedPackIndex ? pack.index.reads : 0), 0);

export async function rows(src: SourceRepo, oids: Oid[]): Promise<CommitRow[]> {
  const out: CommitRow[] = [];
  const row = (c: CommitView) => out.push({ oid: c.oid, subject: c.subject, author: c.author.name, time: c.committer.time });
  // In order while reading a row's commit tells where the next rows are: a pack keeps commits
  // together in history order, and the object store learns the commits stored after one it
  // reads (git/object-store.ts), so a log's rows mostly cost no index lookup at all.
  let from = 0;
  while (from < oids.length) {
    row(await readCommit(src, oids[from++]!));
    let known = from;
    while (known < oids.length && known - from < ROWS_BATCH && src.store.locatedNow(oids[known]!) !== undefined) known++;
    // The next row was not learned: the rest are not together in the pack (a path's log).
    if (known === from) break;
    for (const c of await Promise.all(oids.slice(from, known).map((oid) => readCommit(src, oid)))) row(c);
    from = known;
  }
  // The rest: one sorted batch of index lookups, not one lookup after another (a ranged index
  // reads each of its pages once for the batch).
  await src.store.locateMany(oids.slice(from).sort());
  for (; from < oids.length; from += ROWS_BATCH) {
    for (const c of await Promise.all(oids.slice(from, from + ROWS_BATCH).map((oid) => readCommit(src, oid)))) row(c);
  }
  return out;
}

async function parseCursor(src: SourceRepo, value: string | undefined): Promise<Oid[] | null | undefined> {
  if (value === undefined || value === "") return undefined;
  const oids = value.split(",");
  if (oids.length > 100 || !oids.every((o) => /^[0-9a-f]{40}$/.test(o))) return null;
  if ((await src.store.filterPresent(oids)).length !== oids.length) return null;
  // A cursor names commits by id: the same rule as URLs, only what the refs reach.
  for (const o of oids) if (!(await reachableFromRefs(src, o))) return null;
  return oids;
}

export async function logPage(p: SourcePage, rest: string[]): Promise<Response> {
  const { c, src, urls } = p;
  const split = await splitRev(src, rest);
  if (!split) return notFound(p);
  const path = decodePathSegments(split.rest);
  const cursor = await parseCursor(src, c.req.query("after"));
  if (!path || cursor === null) return notFound(p);
  const rev = split.rev;
  const render = async (): Promise<Rendered> => {
    const budget = path.length ? new Budget(Date.now() + PATH_LOG_BUDGET.ms, PATH_LOG_BUDGET.steps) : undefined;
    const started = performance.now();
    const page = await walkLog(src.graph, cursor ?? [rev.commit], { limit: LOG_PAGE, path, budget });
    // Server-Timing: the walk's time, and what it did (counts, not milliseconds).
    const marks = c.get("meter").marks;
    marks.walk = performance.now() - started;
    marks["walk-scanned"] = page.scanned;
    marks["walk-graph-reads"] = src.graph.reads.graph;
    marks["walk-object-reads"] = src.graph.reads.objects;
    marks["walk-index-reads"] = indexReads(src);
    const view: LogView = {
      place: { urls, project: p.project.name, rev: rev.name, path },
      heading: rev.kind === "commit" ? shortOid(rev.commit) : rev.name,
      feedHref: rev.kind === "branch" && !path.length ? urls.feed(rev.name) : undefined,
      commits: await rows(
        src,
        page.commits.map((x) => x.oid),
      ),
      timedOut: page.timedOut ? { scanned: page.scanned } : undefined,
      nextHref: page.next ? urls.log(rev.name, path, page.next) : undefined,
    };
    return { html: logBody(view), cacheable: !budget?.outOfTime };
  };
  return sourceResponse(p, {
    title: path.length ? `History of ${path.join("/")}` : `Log of ${rev.name}`,
    tab: "log",
    rev,
    view: "log",
    path,
    key: ["log", rev.name, rev.commit, path.join("/"), (cursor ?? []).join(",")],
    immutableUrl: rev.kind === "commit",
    render,
  });
}

// ---- Diffs of commits and comparisons

/** Caps of a diff page: files diffed, lines shown, and the largest file diffed inline. */
interface DiffCaps {
  files: number;
  lines: number;
  fileBytes: number;
}
export const PAGE_CAPS: DiffCaps = { files: 100, lines: 3_000, fileBytes: 512 * 1024 };
/** Files listed in a diff's summary (the rest are counted). */
const SUMMARY_ROWS = 500;
/** How far a comparison looks for the merge base before it compares the two tips directly. */
export const MERGE_BASE_BUDGET = { ms: 400, steps: 10_000 };
const ONE_FILE_CAPS: DiffCaps = { files: 1, lines: 200_000, fileBytes: 8 * 1024 * 1024 };
export const TREE_DIFF_LIMIT = 3_000;
/** Largest file written into a .diff/.patch download (beyond: noted as not shown). */
const PATCH_FILE_MAX = 16 * 1024 * 1024;

type FileDiff = Exclude<FileDiffView, { kind: "skipped" }> | { kind: "skipped" };

/**
 * Bytes of text a diff page diffs between two turns of the isolate's other requests: the files'
 * objects are often in memory already, so reading them does not give way, and a page of 100
 * files of 512 KiB would otherwise render in one stretch (locally every worker shares a thread).
 */
export const DIFF_SLICE_BYTES = 256 * 1024;

const decoder = new TextDecoder();

async function sideText(
  src: SourceRepo,
  oid: Oid | undefined,
  mode: string | undefined,
  maxBytes: number,
): Promise<Uint8Array | "large" | null> {
  if (!oid || !mode) return new Uint8Array(0);
  if (mode === "160000") return new TextEncoder().encode(`Subproject commit ${oid}\n`);
  // The object cache answers for a blob it holds (no header read from a pack window).
  const { size, type } = await src.store.info(oid);
  if (type !== "blob") throw new GitError("missing_object", `${oid} is not a blob`);
  if (size > maxBytes) return "large";
  return src.store.readTyped(oid, "blob");
}

/** The diff of one file, and how many bytes of text it compared (for the page's pacer). */
async function fileDiff(src: SourceRepo, ch: TreeChange, maxBytes: number): Promise<FileDiff & { bytes?: number }> {
  if (ch.status === "R" && ch.oldOid === ch.newOid) return { kind: "text", hunks: [], added: 0, removed: 0 };
  const a = await sideText(src, ch.oldOid, ch.oldMode, maxBytes);
  const b = await sideText(src, ch.newOid, ch.newMode, maxBytes);
  if (a === "large" || b === "large") {
    const size = Math.max(
      ch.oldOid ? (await src.store.info(ch.oldOid)).size : 0,
      ch.newOid && ch.newMode !== "160000" ? (await src.store.info(ch.newOid)).size : 0,
    );
    return { kind: "large", size };
  }
  if (!a || !b) return { kind: "skipped" };
  if (isBinary(a) || isBinary(b)) return { kind: "binary" };
  const hunks = makeHunks(splitLines(decoder.decode(a)), splitLines(decoder.decode(b)));
  return { kind: "text", hunks, ...countChanges(hunks), bytes: a.length + b.length };
}

/** Files of a diff page whose blobs are located and read ahead together. */
const PREFETCH_FILES = 16;

/**
 * The blobs of `changes` located in one sorted batch and their pack windows filled a cluster of
 * nearby windows a storage read (git/pack-prefetch.ts), where each file's two sides were a
 * lookup and a window read of their own, one after another.
 */
function prefetchBlobs(src: SourceRepo, changes: TreeChange[]): Promise<void> {
  const oids: Oid[] = [];
  for (const ch of changes) {
    if (ch.status === "R" && ch.oldOid === ch.newOid) continue;
    if (ch.oldOid && ch.oldMode !== "160000") oids.push(ch.oldOid);
    if (ch.newOid && ch.newMode !== "160000") oids.push(ch.newOid);
  }
  return prefetchObjects(src.store, oids, BLOB_PREFETCH);
}

/** The change list and diffs of `changes`, within caps; `fileHref` loads one file's diff alone. */
export async function diffView(
  src: SourceRepo,
  changes: TreeChange[],
  truncated: boolean,
  caps: DiffCaps,
  fileHref: (ch: TreeChange) => string,
  blobHref: (ch: TreeChange) => string,
  pacer = new Pacer(Number.POSITIVE_INFINITY, DIFF_SLICE_BYTES),
): Promise<DiffView> {
  let shownLines = 0;
  let added = 0;
  let removed = 0;
  const listed: ChangeView[] = [];
  for (let i = 0; i < Math.min(changes.length, SUMMARY_ROWS); i++) {
    const ch = changes[i]!;
    let d: FileDiff = { kind: "skipped" };
    if (i < caps.files && shownLines < caps.lines) {
      if (i % PREFETCH_FILES === 0) await prefetchBlobs(src, changes.slice(i, Math.min(i + PREFETCH_FILES, caps.files)));
      const { bytes, ...diffed } = await fileDiff(src, ch, caps.fileBytes);
      d = diffed;
      const paused = pacer.tick(bytes ?? 0, 1);
      if (paused) await paused;
    }
    if (d.kind === "text") {
      const lines = d.hunks.reduce((n, h) => n + h.lines.length, 0);
      if (shownLines + lines > caps.lines) d = { kind: "skipped" };
      else {
        shownLines += lines;
        added += d.added;
        removed += d.removed;
      }
    }
    listed.push({
      status: ch.status,
      path: ch.path,
      oldPath: ch.oldPath,
      oldMode: ch.oldMode,
      newMode: ch.newMode,
      blobHref: ch.status === "D" ? undefined : blobHref(ch),
      diff: d.kind === "skipped" ? { kind: "skipped", href: fileHref(ch) } : d,
    });
  }
  return { total: changes.length, truncated, added, removed, partial: changes.length > SUMMARY_ROWS, changes: listed };
}

export async function commitPage(p: SourcePage, rest: string[]): Promise<Response> {
  const { src, urls } = p;
  const [first, ...rawPath] = rest;
  if (!first) return notFound(p);
  let name: string;
  try {
    name = decodeURIComponent(first);
  } catch {
    return notFound(p);
  }
  let download: "patch" | "diff" | null = null;
  const m = /^(.+)\.(patch|diff)$/.exec(name);
  if (m && rawPath.length === 0) {
    name = m[1]!;
    download = m[2] as "patch" | "diff";
  }
  const rev = await resolveRev(src, name);
  const path = decodePathSegments(rawPath);
  if (!rev || !path) return notFound(p);
  const commit = await readCommit(src, rev.commit);
  const parent = (await src.store.filterPresent(commit.parents))[0] ?? null;
  const baseTree = parent ? (await src.graph.commit(parent)).tree : null;
  if (download) return patchDownload(p, commit, baseTree, download, /^[0-9a-f]{40}$/.test(name));
  const render = async (): Promise<Rendered> => {
    let { changes, truncated } = await diffTrees(src.store, baseTree, commit.tree, { limit: TREE_DIFF_LIMIT });
    const wanted = path.join("/");
    if (path.length) changes = changes.filter((ch) => ch.path === wanted || ch.oldPath === wanted);
    const sig = (s: CommitView["author"]) => ({ name: s.name, email: s.email, time: s.time });
    const view: CommitPageView = {
      oid: commit.oid,
      subject: commit.subject,
      body: commit.body,
      author: sig(commit.author),
      committer:
        commit.committer.name !== commit.author.name ||
        commit.committer.email !== commit.author.email ||
        commit.committer.time !== commit.author.time
          ? sig(commit.committer)
          : undefined,
      parents: commit.parents.map((x) => ({ oid: x, href: urls.commit(x) })),
      treeHref: urls.tree(commit.oid),
      patchHref: urls.patch(commit.oid, "patch"),
      diffHref: urls.patch(commit.oid, "diff"),
      merge: commit.parents.length > 1,
      only: path.length ? { path: wanted, allHref: urls.commit(commit.oid) } : undefined,
      diff: await diffView(
        src,
        changes,
        truncated,
        path.length ? ONE_FILE_CAPS : PAGE_CAPS,
        (ch) => urls.commit(commit.oid, ch.path.split("/")),
        (ch) => urls.blob(commit.oid, ch.path.split("/")),
      ),
    };
    return { html: commitBody(view), cacheable: true };
  };
  return sourceResponse(p, {
    title: `${commit.subject.slice(0, 60)} · ${shortOid(commit.oid)}`,
    tab: "log",
    rev: null,
    key: ["commit", commit.oid, path.join("/")],
    immutableUrl: rev.kind === "commit" && name.length === 40,
    render,
  });
}

// ---- .patch and .diff, streamed file by file

function quotePath(prefix: string, path: string): string {
  return `${prefix}${path}`;
}

function rfc2822(sig: CommitView["author"]): string {
  const sign = sig.tz.startsWith("-") ? -1 : 1;
  const offset = sign * (Number(sig.tz.slice(1, 3)) * 60 + Number(sig.tz.slice(3, 5)));
  const d = new Date((sig.time + offset * 60) * 1000);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${days[d.getUTCDay()]}, ${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${sig.tz}`;
}

/** One file's part of a unified diff, as `git diff` writes it. */
async function fileDiffText(src: SourceRepo, ch: TreeChange): Promise<string> {
  const oldPath = ch.oldPath ?? ch.path;
  let s = `diff --git ${quotePath("a/", oldPath)} ${quotePath("b/", ch.path)}\n`;
  const abbrev = (o?: Oid) => (o ?? "0".repeat(40)).slice(0, 7);
  if (ch.status === "A") s += `new file mode ${ch.newMode}\n`;
  else if (ch.status === "D") s += `deleted file mode ${ch.oldMode}\n`;
  else if (ch.oldMode !== ch.newMode) s += `old mode ${ch.oldMode}\nnew mode ${ch.newMode}\n`;
  if (ch.status === "R") s += `similarity index 100%\nrename from ${ch.oldPath}\nrename to ${ch.path}\n`;
  if (ch.oldOid === ch.newOid) return s;
  const sameMode = ch.status !== "A" && ch.status !== "D" && ch.oldMode === ch.newMode;
  s += `index ${abbrev(ch.oldOid)}..${abbrev(ch.newOid)}${sameMode ? ` ${ch.newMode}` : ""}\n`;
  const from = ch.status === "A" ? "/dev/null" : quotePath("a/", oldPath);
  const to = ch.status === "D" ? "/dev/null" : quotePath("b/", ch.path);
  const a = await sideText(src, ch.oldOid, ch.oldMode, PATCH_FILE_MAX);
  const b = await sideText(src, ch.newOid, ch.newMode, PATCH_FILE_MAX);
  if (a === "large" || b === "large" || !a || !b || isBinary(a) || isBinary(b)) {
    return `${s}Binary files ${from} and ${to} differ\n`;
  }
  const hunks = makeHunks(splitLines(decoder.decode(a)), splitLines(decoder.decode(b)));
  if (hunks.length === 0) return s;
  return `${s}--- ${from}\n+++ ${to}\n${hunksText(hunks)}`;
}

function patchDownload(
  p: SourcePage,
  commit: CommitView,
  baseTree: Oid | null,
  kind: "patch" | "diff",
  immutable: boolean,
): Response {
  const { src } = p;
  const encoder = new TextEncoder();
  async function* generate(): AsyncGenerator<Uint8Array> {
    if (kind === "patch") {
      yield encoder.encode(
        `From ${commit.oid} Mon Sep 17 00:00:00 2001\nFrom: ${commit.author.name} <${commit.author.email}>\nDate: ${rfc2822(commit.author)}\nSubject: [PATCH] ${commit.subject}\n\n${commit.body ? `${commit.body}\n` : ""}---\n\n`,
      );
    }
    const { changes } = await diffTrees(src.store, baseTree, commit.tree);
    for (const ch of changes) yield encoder.encode(await fileDiffText(src, ch));
    if (kind === "patch") yield encoder.encode("-- \nEdgeforge\n\n");
  }
  const gen = generate();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { value, done } = await gen.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(p.c.req.method === "HEAD" ? null : body, {
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "content-disposition": `inline; filename="${shortOid(commit.oid)}.${kind}"`,
      "x-content-type-options": "nosniff",
      "content-security-policy": "default-src 'none'; sandbox",
      etag: `"${commit.oid}.${kind}"`,
      "cache-control": immutable ? `${p.isPublic ? "public" : "private"}, max-age=31536000, immutable` : "no-cache",
    },
  });
}
