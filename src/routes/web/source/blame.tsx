// Blame pages of the repository browser: each line with the commit that brought it. One run per
// file and commit (services/blame-runs.ts) with a large budget: the page waits for it a while and,
// if it is not done, shows where it has got to; the background render and reloads join the run.
import { blame, type BlameResult } from "../../../git/blame";
import { blobStorage } from "../../../git/blob-stream";
import { Budget } from "../../../git/budget";
import { isBinary } from "../../../git/diff";
import type { Oid } from "../../../git/oid";
import {
  blameRunCounts,
  blameWithin,
  MARGIN_BATCH,
  type MarginCommit,
  readMarginCommit,
  type SharedBlame,
  sharedBlame,
} from "../../../services/blame-runs";
import type { Rev } from "../../../services/source";
import { HIGHLIGHT_MAX, highlightedLinesPaced, languageOf } from "../../../views/highlight";
import { type BlameLineView, type BlameView, blameBody } from "../../../views/source/blame";
import type { Markup } from "../../../views/source/markup";
import { type Rendered, sourceResponse, type SourcePage } from "./page";

/**
 * How long a page waits for the run, and what the run may spend. (A page wait of 1.5 s was tried
 * when each request ran blame itself: every reload then ran it for 1.5 s beside the background
 * run. A reload now joins the run: bench/scale-results.md.)
 */
const BLAME_PAGE_MS = 1_500;
const BLAME_RUN = { ms: 25_000, steps: 50_000 };

export async function blamePage(p: SourcePage, rev: Rev, path: string[], oid: Oid, mode: string): Promise<Response> {
  const { src, urls } = p;
  const name = path[path.length - 1]!;
  const key = `${p.src.repo.tenantId}/${p.src.repo.repoId}/${p.src.snapshot.purges ?? 0}@${rev.commit}:${path.join("/")}`;
  /**
   * `wait`: how long the page waits for the run (null: until it ends, the background's). `marks`: the request's
   * Server-Timing (the page's render only, not the background's).
   */
  const marginCommit = (oid: Oid) => readMarginCommit(src, oid);
  const render = async (wait: number | null, marks?: Record<string, number>): Promise<Rendered> => {
    const view = (content: BlameView["content"]): Markup =>
      blameBody({
        place: { urls, project: p.project.name, rev: rev.name, path },
        blobHref: urls.blob(rev.name, path),
        historyHref: urls.log(rev.name, path),
        content,
      });
    const { size } = await blobStorage(src.store, oid);
    if (size > 512 * 1024 || mode === "120000") {
      return { html: view({ notice: "Blame is shown for text files up to 512 KiB." }), cacheable: true };
    }
    const data = await src.store.readTyped(oid, "blob");
    if (isBinary(data)) return { html: view({ notice: "Binary file: no blame." }), cacheable: true };
    let started = performance.now();
    const joinedBefore = blameRunCounts.joined;
    const run = sharedBlame(
      key,
      Date.now() + BLAME_RUN.ms + 5_000,
      (watch) => blame(src.graph, rev.commit, path, { budget: new Budget(Date.now() + BLAME_RUN.ms, BLAME_RUN.steps), watch }),
      marginCommit,
    );
    const joined = blameRunCounts.joined - joinedBefore; // counted now: other requests join meanwhile
    // The background waits with a timer of its own too: a request that waits only on another
    // request's work is cancelled by workerd as hung (utils/request-scope.ts).
    const result = (await waitFor(run, wait ?? BLAME_RUN.ms + 5_000)) ?? NOT_YET;
    if (marks) {
      // Time, then what the walk did (counts, not milliseconds).
      marks.blame = performance.now() - started;
      marks["blame-joined"] = joined;
      marks["blame-steps"] = result.steps;
      marks["blame-reads"] = result.work.blobReads;
      marks["blame-diffs"] = result.work.diffs;
      marks["blame-lines"] = result.work.linesHashed;
      marks["blame-compared"] = result.work.compared;
      started = performance.now();
    }
    const text = new TextDecoder().decode(data);
    const code = await highlightedLinesPaced(
      text.endsWith("\n") ? text.slice(0, -1) : text,
      size <= HIGHLIGHT_MAX ? languageOf(name) : null,
    );
    // The commits named: those the run read while it went on, and the rest read here a batch at a
    // time side by side (cold, each may be a storage read: one after the other they took a third
    // of the long file's first page).
    const commits = new Map<Oid, MarginCommit>();
    const missing: Oid[] = [];
    for (const oid of new Set(result.lines.filter((l) => l).map((l) => l.commit))) {
      const ready = run.margin.ready(oid);
      if (ready) commits.set(oid, ready);
      else missing.push(oid);
    }
    for (let i = 0; i < missing.length; i += MARGIN_BATCH) {
      const batch = missing.slice(i, i + MARGIN_BATCH);
      const read = await Promise.all(batch.map(marginCommit));
      for (const [k, oid] of batch.entries()) commits.set(oid, read[k]!);
    }
    if (marks) {
      marks["blame-render"] = performance.now() - started;
      marks["blame-margin-ahead"] = commits.size - missing.length;
    }
    let prev: Oid | null = null;
    const lines = code.map((line, i): BlameLineView => {
      const b = result.lines[i];
      const starts = b && b.commit !== prev;
      prev = b?.commit ?? null;
      if (!starts) return { code: line };
      const info = commits.get(b.commit)!;
      return { code: line, start: { href: urls.commit(b.commit), oid: b.commit, ...info, final: b.final } };
    });
    return { html: view({ lines, complete: result.complete }), cacheable: result.complete };
  };
  return sourceResponse(p, {
    title: `Blame ${path.join("/")}`,
    tab: "files",
    rev,
    view: "blame",
    path,
    key: ["blame", rev.name, rev.commit, path.join("/")],
    immutableUrl: rev.kind === "commit",
    render: () => render(BLAME_PAGE_MS, p.c.get("meter").marks),
    background: () => render(null),
  });
}

/**
 * The run's answer if it comes within `ms` (or a little more when it is near its end: `blameWithin`),
 * else where it has got to (the timers cleared either way).
 */
async function waitFor(run: SharedBlame, ms: number): Promise<BlameResult | null> {
  const timers: ReturnType<typeof setTimeout>[] = [];
  const sleep = (ms: number) => new Promise<void>((resolve) => timers.push(setTimeout(resolve, ms)));
  try {
    return await blameWithin(run, sleep(ms), sleep);
  } finally {
    for (const t of timers) clearTimeout(t);
  }
}

/** A page before the run has read the file: no line attributed yet. */
const NOT_YET: BlameResult = {
  lines: [],
  complete: false,
  steps: 0,
  work: { blobReads: 0, diffs: 0, linesHashed: 0, compared: 0, diffBuffers: 0 },
};
