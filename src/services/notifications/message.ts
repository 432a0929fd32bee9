// The mail of an event: subject, text and HTML parts (every value escaped by hono's `html` tag;
// Markdown stays text, as written), and the links in it, absolute on the forge's own host.
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { Env } from "../../env";
import type { TenantRecord } from "../../storage/directory";

export interface MailParts {
  subject: string;
  text: string;
  html: string;
}

/** One thing the mail tells: a line, maybe a quoted text (a comment), and where to see it. */
export interface MailItem {
  line: string;
  detail?: string;
  quote?: string;
  /** Absolute URL. */
  link: string;
}

/**
 * Where mail links point: MAIL_LINK_ORIGIN with `{host}` replaced by the forge's first host
 * (https://{host} by default; the local runner sets http://{host}:<port>).
 */
export function linkOrigin(env: Env, tenant: TenantRecord): string {
  const template = typeof env.MAIL_LINK_ORIGIN === "string" && env.MAIL_LINK_ORIGIN ? env.MAIL_LINK_ORIGIN : "https://{host}";
  return template.replace("{host}", tenant.hosts[0] ?? "localhost").replace(/\/+$/, "");
}

/** Quoted comments are cut here: the mail links to the whole text. */
const QUOTE_MAX = 4_000;
const clip = (s: string) => (s.length > QUOTE_MAX ? `${s.slice(0, QUOTE_MAX)}\n[...]` : s);

/** Text and HTML parts of items, with the footer saying why the mail came and how to stop it. */
export function renderMail(opts: {
  subject: string;
  intro?: string;
  items: MailItem[];
  why: string;
  unsubscribe: string | null;
  settings: string;
}): MailParts {
  const text = [
    ...(opts.intro ? [opts.intro, ""] : []),
    ...opts.items.flatMap((it) => [
      it.line,
      ...(it.detail ? [it.detail] : []),
      ...(it.quote
        ? [
            "",
            ...clip(it.quote)
              .split("\n")
              .map((l) => `> ${l}`.trimEnd()),
          ]
        : []),
      "",
      `View it: ${it.link}`,
      "",
    ]),
    "-- ",
    opts.why,
    ...(opts.unsubscribe ? [`Stop these mails: ${opts.unsubscribe}`] : []),
    `Choose what mail you get: ${opts.settings}`,
    "",
  ].join("\n");
  const items: HtmlEscapedString[] = opts.items.map(
    (it) =>
      html`<div style="margin:0 0 1em">
<p style="margin:0 0 .5em"><a href="${it.link}">${it.line}</a></p>
${it.detail ? html`<p style="margin:0 0 .5em;color:#555">${it.detail}</p>` : ""}
${it.quote ? html`<blockquote style="margin:0;padding-left:1em;border-left:3px solid #ccc;white-space:pre-wrap">${clip(it.quote)}</blockquote>` : ""}
</div>` as HtmlEscapedString,
  );
  const body = html`<!doctype html>
<html><body style="font-family:sans-serif;font-size:14px">
${opts.intro ? html`<p>${opts.intro}</p>` : ""}
${items}
<hr>
<p style="color:#555;font-size:12px">${opts.why}<br>
${opts.unsubscribe ? html`<a href="${opts.unsubscribe}">Stop these mails</a> · ` : ""}<a href="${opts.settings}">Choose what mail you get</a></p>
</body></html>`;
  return { subject: opts.subject, text, html: String(body) };
}
