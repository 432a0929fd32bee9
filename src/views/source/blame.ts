// The blame page: each line with the commit that brought it (view model from routes/web/source/blame.tsx).
import { type TrustedHtml, trustedHtml } from "../trusted-html";
import { day } from "../source";
import { empty, html, type Markup } from "./markup";
import { pathNav } from "./parts";
import type { Place } from "./files";

export interface BlameLineView {
  /** Highlighted code of the line. */
  code: TrustedHtml;
  /** Set on the first line of a run from one commit. */
  start?: { href: string; oid: string; subject: string; author: string; time: number; final: boolean };
}

export interface BlameView {
  place: Place;
  blobHref: string;
  historyHref: string;
  /** Why no blame is shown, or the lines. */
  content: { notice: string } | { lines: BlameLineView[]; complete: boolean };
}

function blameRow(l: BlameLineView, n: number): Markup {
  const s = l.start;
  if (!s) return html`<tr id=L${n}><td class=bl><td class=ln><a href=#L${n}>${n}</a><td>${trustedHtml(l.code)}\n`;
  return html`<tr id=L${n} class=bstart><td class=bl><a class="mono" href="${s.href}" title="${s.subject}">${s.final ? "" : "≤"}${s.oid.slice(0, 7)}</a> <span class="muted">${s.author} ${day(s.time)}</span><td class=ln><a href=#L${n}>${n}</a><td>${trustedHtml(l.code)}\n`;
}

export function blameBody(v: BlameView): Markup {
  const { place, content } = v;
  const bar = html`<div class="pathbar">${pathNav(place.urls, place.project, place.rev, place.path)}<span class="links"><a href="${v.blobHref}">View file</a> · <a href="${v.historyHref}">History</a></span></div>`;
  if ("notice" in content) return html`${bar}<p class="notice">${content.notice}</p>`;
  return html`${bar}${
    content.complete
      ? empty
      : html`<p class="notice computing">Blame is still searching older history; lines marked “≤” came from that commit or an older one. Reload in a moment for the full answer.</p>`
  }<div class="scroll"><table class="code blame"><tbody>${content.lines.map((l, i) => blameRow(l, i + 1))}</tbody></table></div>`;
}
