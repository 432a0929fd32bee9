// A review's diff: the source pages' diff model (routes/web/source/history.tsx diffView, with the
// commit page's caps) drawn with line comments. Each line's number links to the same page with a
// comment form under that line (no script needed); comments still current show under their line.
import type { CommentView } from "../services/reviews/model";
import type { ChangeView, DiffView } from "./source/history";
import { empty, html, type Markup } from "./source/markup";
import { markdownHtml } from "./markdown";
import { trustedHtml } from "./trusted-html";

export interface ReviewDiffView {
  diff: DiffView;
  /** Line comments may be made (a revision's own diff, viewer who may write); else read-only. */
  commentable: { revision: number; action: string; href: (path: string, side: "old" | "new", line: number) => string } | null;
  /** Comments to show under their lines. */
  comments: CommentView[];
  /** The line the viewer asked to comment on (the form goes under it). */
  open?: { path: string; side: "old" | "new"; line: number };
  project: string;
}

const statusWord: Record<ChangeView["status"], string> = {
  A: "added",
  D: "deleted",
  M: "modified",
  T: "type changed",
  R: "renamed",
};

export function commentBody(project: string, c: CommentView): Markup {
  const where = c.path
    ? html` on <span class="mono">${c.path}:${c.line}</span> (${c.side === "old" ? "before" : "after"})`
    : empty;
  const outdated =
    c.outdatedRevision !== null
      ? html` <span class="badge outdated" title="Revision ${c.outdatedRevision} changed this line">outdated</span>`
      : empty;
  return html`<article class="rcomment" id="c${c.id}"><p class="muted"><strong>${c.author ?? "someone"}</strong> on revision ${c.revision}${where}${outdated} · <time datetime="${c.createdAt}">${c.createdAt.slice(0, 10)}</time></p>${
    c.path && c.lineText !== null ? html`<pre class="quoted-line">${c.lineText}</pre>` : empty
  }<div class="md">${trustedHtml(markdownHtml(c.body, { project }))}</div></article>`;
}

function commentForm(v: ReviewDiffView, path: string, side: "old" | "new", line: number): Markup {
  const c = v.commentable!;
  return html`<tr class="lcform"><td colspan="3"><form method="post" action="${c.action}" class="stack wide" id="lc"><input type="hidden" name="revision" value="${c.revision}"><input type="hidden" name="path" value="${path}"><input type="hidden" name="side" value="${side}"><input type="hidden" name="line" value="${line}"><label for="lc-body">Comment on line ${line} of ${path}</label><textarea id="lc-body" name="body" required maxlength="65536" autofocus></textarea><div class="actions"><button type="submit" class="primary">Comment on this line</button></div></form></td></tr>`;
}

function fileTable(v: ReviewDiffView, ch: ChangeView): Markup {
  const d = ch.diff;
  if (d.kind === "binary") return html`<p class="muted">Binary file.</p>`;
  if (d.kind === "large")
    return html`<p class="muted">Large file (${(d.size / 1024 / 1024).toFixed(1)} MiB): diff not shown.</p>`;
  if (d.kind === "skipped")
    return html`<p class="muted">Diff not shown here (this change is large). <a href="${d.href}">Load this file's diff</a>.</p>`;
  if (!d.hunks.length) return html`<p class="muted">Same content.</p>`;
  const here = v.comments.filter((c) => c.path === ch.path);
  const rows: Markup[] = [];
  for (const h of d.hunks) {
    rows.push(
      html`<tr class="hh"><td class="ln"><td class="ln"><td>@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@${h.func ? ` ${h.func}` : ""}\n`,
    );
    for (const l of h.lines) {
      const cls = l.op === "+" ? "add" : l.op === "-" ? "del" : "ctx";
      const side: "old" | "new" = l.op === "-" ? "old" : "new";
      const line = side === "old" ? l.oldNo : l.newNo;
      const num = (n: number, s: "old" | "new") =>
        n && v.commentable && s === side
          ? html`<a href="${v.commentable.href(ch.path, s, n)}" aria-label="Comment on ${s} line ${n} of ${ch.path}" title="Comment on this line">${n}</a>`
          : html`${n || ""}`;
      rows.push(
        html`<tr class="${cls}"><td class="ln">${num(l.oldNo, "old")}<td class="ln">${num(l.newNo, "new")}<td>${l.op}${l.text}\n`,
      );
      const on = here.filter((c) => c.side === side && c.line === line);
      if (on.length) rows.push(html`<tr class="lcomments"><td colspan="3">${on.map((c) => commentBody(v.project, c))}</td></tr>`);
      if (v.open && v.commentable && v.open.path === ch.path && v.open.side === side && v.open.line === line)
        rows.push(commentForm(v, ch.path, side, line));
    }
  }
  return html`<div class="scroll"><table class="diff rdiff"><tbody>${rows}</tbody></table></div>`;
}

export function reviewDiff(v: ReviewDiffView): Markup {
  const n = v.diff.total;
  const head = html`<p class="diffstat">${n}${v.diff.truncated ? "+" : ""} file${n === 1 ? "" : "s"} changed, <span class="add">${v.diff.added} insertions(+)</span>, <span class="del">${v.diff.removed} deletions(−)</span>${
    v.diff.truncated || v.diff.partial ? ` (the first ${v.diff.changes.length} listed)` : ""
  }</p>`;
  const summary = v.diff.changes.map(
    (ch, i) =>
      html`<tr><td class="chg chg-${ch.status}">${statusWord[ch.status]}<td><a href="#f${i}">${ch.oldPath && ch.status === "R" ? `${ch.oldPath} → ` : ""}${ch.path}</a></tr>`,
  );
  const files = v.diff.changes.map(
    (ch, i) =>
      html`<section class="fdiff" id="f${i}"><h3><span class="mono">${ch.status === "R" ? `${ch.oldPath} → ` : ""}${ch.path}</span>${
        ch.blobHref ? html` <a class="muted" href="${ch.blobHref}">view file</a>` : empty
      }</h3>${fileTable(v, ch)}</section>`,
  );
  return html`${head}<table class="list changes"><tbody>${summary}</tbody></table>${files}`;
}
