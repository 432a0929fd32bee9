// The forge admin's outbox: the mail the forge wrote (account mail and notifications), newest
// first, each with its headers, text (links followable) and HTML source. Locally, without a MAIL
// binding, this is where mail goes (npm start also prints it).
import { Hono } from "hono";
import type { AppEnv } from "../context";
import { component, requireAdmin } from "../middleware/guards";
import { findOutboxMessage, listOutbox } from "../../services/outbox";
import { notFoundPage } from "./errors";
import { AdminPage } from "./admin";

export const adminOutboxRoutes = new Hono<AppEnv>();

const PAGE = 50;
const URL_IN_TEXT = /https?:\/\/[^\s<>"']+/g;

/** Text with its http(s) URLs as links (every piece escaped by JSX). */
function LinkedText(props: { text: string }) {
  const parts: (string | { href: string })[] = [];
  let at = 0;
  for (const m of props.text.matchAll(URL_IN_TEXT)) {
    parts.push(props.text.slice(at, m.index), { href: m[0] });
    at = m.index! + m[0].length;
  }
  parts.push(props.text.slice(at));
  return <pre class="mail">{parts.map((p) => (typeof p === "string" ? p : <a href={p.href}>{p.href}</a>))}</pre>;
}

const sent = (at: string | null) => (at ? `sent ${at.slice(0, 16).replace("T", " ")} UTC` : "not sent (no MAIL binding)");

adminOutboxRoutes.get("/admin/outbox", component("web.admin.outbox"), requireAdmin, async (c) => {
  const before = c.req.query("before");
  const page = await listOutbox(c.get("db"), {
    before: before && /^\d+$/.test(before) ? Number(before) : undefined,
    limit: PAGE,
  });
  return c.html(
    <AdminPage c={c} section="/admin/outbox" title="Outbox">
      <p class="muted">Mail this forge wrote, newest first.</p>
      {page.rows.length === 0 ? (
        <p class="notice">No mail yet.</p>
      ) : (
        <table class="list outbox">
          <thead>
            <tr>
              <th scope="col">Written (UTC)</th>
              <th scope="col">To</th>
              <th scope="col">Subject</th>
              <th scope="col" class="opt">
                Sent
              </th>
            </tr>
          </thead>
          <tbody>
            {page.rows.map((m) => (
              <tr>
                <td class="nowrap">{m.createdAt.slice(0, 16).replace("T", " ")}</td>
                <td>{m.toAddress}</td>
                <td>
                  <a href={`/admin/outbox/${m.id}`}>{m.subject}</a>
                </td>
                <td class="opt">{m.sentAt ? "yes" : "no"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page.older !== null && (
        <p>
          <a href={`/admin/outbox?before=${page.older}`}>Older mail</a>
        </p>
      )}
    </AdminPage>,
  );
});

adminOutboxRoutes.get("/admin/outbox/:id{[0-9]+}", component("web.admin.outbox"), requireAdmin, async (c) => {
  const m = await findOutboxMessage(c.get("db"), Number(c.req.param("id")));
  if (!m) return notFoundPage(c);
  let headers: Record<string, string> = {};
  try {
    headers = JSON.parse(m.headers) as Record<string, string>;
  } catch {
    // An unreadable row shows without its extra headers.
  }
  return c.html(
    <AdminPage c={c} section="/admin/outbox" title={m.subject}>
      <p>
        <a href="/admin/outbox">All mail</a>
      </p>
      <h2>{m.subject}</h2>
      <dl class="mail-headers">
        <dt>To</dt>
        <dd>{m.toAddress}</dd>
        <dt>Written</dt>
        <dd>{m.createdAt}</dd>
        <dt>State</dt>
        <dd>{sent(m.sentAt)}</dd>
        {Object.entries(headers).map(([name, value]) => (
          <>
            <dt>{name}</dt>
            <dd>{value}</dd>
          </>
        ))}
      </dl>
      <h3>Text</h3>
      <LinkedText text={m.body} />
      {m.html && (
        <details>
          <summary>HTML part (source)</summary>
          <pre class="mail">{m.html}</pre>
        </details>
      )}
    </AdminPage>,
  );
});
