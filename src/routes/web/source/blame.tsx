// Blame pages of the repository browser: each line with the commit that brought it, within a
// page budget; a background run with a larger budget finishes what the page could not.
import { blame } from "../../../git/blame";
import { blobStorage } from "../../../git/blob-stream";
import { Budget } from "../../../git/budget";
import { isBinary } from "../../../git/diff";
import type { Oid } from "../../../git/oid";
import { readCommit, type Rev } from "../../../services/source";
import { escapeHtml, HIGHLIGHT_MAX, highlightLines, languageOf } from "../../../views/highlight";
import { day, pathNav } from "../../../views/source";
import { sourceResponse, type SourcePage } from "./page";

/** What blame waits for on a page, and what the background may spend to finish it. */
const BLAME_PAGE = { ms: 600, steps: 5_000 };
const BLAME_BACKGROUND = { ms: 25_000, steps: 50_000 };

export async function blamePage(p: SourcePage, rev: Rev, path: string[], oid: Oid, mode: string): Promise<Response> {
  const { src, urls } = p;
  const name = path[path.length - 1]!;
  const render = async (budget: Budget) => {
    let s = `<div class="pathbar">${pathNav(urls, p.project.name, rev.name, path)}<span class="links"><a href="${escapeHtml(urls.blob(rev.name, path))}">View file</a> · <a href="${escapeHtml(urls.log(rev.name, path))}">History</a></span></div>`;
    const { size } = await blobStorage(src.store, oid);
    if (size > 512 * 1024 || mode === "120000") {
      return { html: `${s}<p class="notice">Blame is shown for text files up to 512 KiB.</p>`, cacheable: true };
    }
    const data = await src.store.readTyped(oid, "blob");
    if (isBinary(data)) return { html: `${s}<p class="notice">Binary file: no blame.</p>`, cacheable: true };
    const result = await blame(src.graph, rev.commit, path, { budget });
    const text = new TextDecoder().decode(data);
    const code = highlightLines(text.endsWith("\n") ? text.slice(0, -1) : text, size <= HIGHLIGHT_MAX ? languageOf(name) : null);
    const commits = new Map<Oid, { subject: string; author: string; time: number }>();
    for (const l of result.lines) {
      if (l && !commits.has(l.commit)) {
        const c = await readCommit(src, l.commit);
        commits.set(l.commit, { subject: c.subject, author: c.author.name, time: c.author.time });
      }
    }
    if (!result.complete) {
      s += `<p class="notice computing">Blame is still searching older history; lines marked “≤” came from that commit or an older one. Reload in a moment for the full answer.</p>`;
    }
    const parts: string[] = [`<div class="scroll"><table class="code blame"><tbody>`];
    let prev: Oid | null = null;
    for (let i = 0; i < code.length; i++) {
      const b = result.lines[i];
      const n = i + 1;
      let who = "";
      if (b && b.commit !== prev) {
        const info = commits.get(b.commit)!;
        const href = escapeHtml(urls.commit(b.commit));
        who = `<a class="mono" href="${href}" title="${escapeHtml(info.subject)}">${b.final ? "" : "≤"}${b.commit.slice(0, 7)}</a> <span class="muted">${escapeHtml(info.author)} ${day(info.time)}</span>`;
      }
      prev = b?.commit ?? null;
      parts.push(
        `<tr id=L${n}${who ? " class=bstart" : ""}><td class=bl>${who}<td class=ln><a href=#L${n}>${n}</a><td>${code[i]}\n`,
      );
    }
    parts.push(`</tbody></table></div>`);
    return { html: s + parts.join(""), cacheable: result.complete };
  };
  return sourceResponse(p, {
    title: `Blame ${path.join("/")}`,
    tab: "files",
    rev,
    view: "blame",
    path,
    key: ["blame", rev.name, rev.commit, path.join("/")],
    immutableUrl: rev.kind === "commit",
    render: () => render(new Budget(Date.now() + BLAME_PAGE.ms, BLAME_PAGE.steps)),
    background: () => render(new Budget(Date.now() + BLAME_BACKGROUND.ms, BLAME_BACKGROUND.steps)),
  });
}
