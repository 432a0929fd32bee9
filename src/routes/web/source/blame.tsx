// Blame pages of the repository browser: each line with the commit that brought it, within a
// page budget; a background run with a larger budget finishes what the page could not.
import { blame } from "../../../git/blame";
import { blobStorage } from "../../../git/blob-stream";
import { Budget } from "../../../git/budget";
import { isBinary } from "../../../git/diff";
import type { Oid } from "../../../git/oid";
import { readCommit, type Rev } from "../../../services/source";
import { HIGHLIGHT_MAX, highlightedLinesPaced, languageOf } from "../../../views/highlight";
import { type BlameLineView, type BlameView, blameBody } from "../../../views/source/blame";
import type { Markup } from "../../../views/source/markup";
import { type Rendered, sourceResponse, type SourcePage } from "./page";

/**
 * What blame waits for on a page, and what the background may spend to finish it. (A page wait of
 * 1.5 s was tried: on a loaded machine the page still came partial, later, and each reload then
 * ran blame for 1.5 s beside the background run: bench/scale-results.md.)
 */
const BLAME_PAGE = { ms: 600, steps: 5_000 };
const BLAME_BACKGROUND = { ms: 25_000, steps: 50_000 };

export async function blamePage(p: SourcePage, rev: Rev, path: string[], oid: Oid, mode: string): Promise<Response> {
  const { src, urls } = p;
  const name = path[path.length - 1]!;
  /** `marks`: the request's Server-Timing (the page's render only, not the background run's). */
  const render = async (budget: Budget, marks?: Record<string, number>): Promise<Rendered> => {
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
    const result = await blame(src.graph, rev.commit, path, { budget });
    if (marks) {
      // Time, then what the walk did (counts, not milliseconds).
      marks.blame = performance.now() - started;
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
    const commits = new Map<Oid, { subject: string; author: string; time: number }>();
    for (const l of result.lines) {
      if (l && !commits.has(l.commit)) {
        const c = await readCommit(src, l.commit);
        commits.set(l.commit, { subject: c.subject, author: c.author.name, time: c.author.time });
      }
    }
    if (marks) marks["blame-render"] = performance.now() - started;
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
    render: () => render(new Budget(Date.now() + BLAME_PAGE.ms, BLAME_PAGE.steps), p.c.get("meter").marks),
    background: () => render(new Budget(Date.now() + BLAME_BACKGROUND.ms, BLAME_BACKGROUND.steps)),
  });
}
