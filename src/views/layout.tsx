// The page frame shared by every HTML page: header with breadcrumbs, main, footer.
import type { Child } from "hono/jsx";
import { html } from "hono/html";
import { stylesheetPath } from "./style";
import { pageContext } from "./page-context";
import { Notice } from "./forms";

export interface Crumb {
  label: string;
  href?: string;
}

export function Layout(props: { title: string; forgeName?: string; crumbs?: Crumb[]; children?: Child }) {
  const crumbs = props.crumbs ?? [];
  return (
    <>
      {html`<!DOCTYPE html>`}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{props.forgeName ? `${props.title} · ${props.forgeName}` : props.title}</title>
          <link rel="stylesheet" href={stylesheetPath} />
        </head>
        <body>
          <header class="site">
            <div class="bar">
              <a class="brand" href="/">
                {props.forgeName ?? "Edgeforge"}
              </a>
              {crumbs.length > 0 && (
                <nav class="crumbs" aria-label="Breadcrumb">
                  {crumbs.map((c) => (
                    <span>{c.href ? <a href={c.href}>{c.label}</a> : c.label}</span>
                  ))}
                </nav>
              )}
              <AccountNav />
            </div>
          </header>
          <main>{props.children}</main>
          <footer class="site">Powered by Edgeforge</footer>
        </body>
      </html>
    </>
  );
}

/** Right side of the header: who is signed in, or the way to sign in. Signing out is a POST. */
function AccountNav() {
  const ctx = pageContext();
  if (!ctx) return null;
  if (!ctx.account) {
    const next = ctx.path.startsWith("/account/") ? "" : `?next=${encodeURIComponent(ctx.path)}`;
    return (
      <nav class="account" aria-label="Account">
        <a href={`/account/login${next}`}>Sign in</a>
        <a href="/account/register">Register</a>
      </nav>
    );
  }
  return (
    <nav class="account" aria-label="Account">
      <a href={`/u/${encodeURIComponent(ctx.account.username)}`}>{ctx.account.username}</a>
      <a href="/account">Settings</a>
      {ctx.account.isAdmin && <a href="/admin">Admin</a>}
      <form method="post" action="/account/logout" class="inline">
        <button type="submit" class="link">
          Sign out
        </button>
      </form>
    </nav>
  );
}

/** A page with a side menu of sections (settings, admin): the current one marked, then the
 * title, an "ok" or error notice and the content. */
export function SectionedPage(props: {
  title: string;
  forgeName: string;
  menu: { label: string; href: string; sections: Crumb[] };
  current: string;
  ok?: string;
  error?: string;
  children?: Child;
}) {
  const { menu } = props;
  return (
    <Layout
      title={props.title}
      forgeName={props.forgeName}
      crumbs={[{ label: menu.label, href: menu.href }, { label: props.title }]}
    >
      <div class="cols">
        <nav class="side" aria-label={menu.label}>
          {menu.sections.map((s) => (
            <a href={s.href} aria-current={s.href === props.current ? "page" : undefined}>
              {s.label}
            </a>
          ))}
        </nav>
        <div>
          <h1>{props.title}</h1>
          {props.ok && <Notice kind="ok">{props.ok}</Notice>}
          {props.error && <Notice kind="error">{props.error}</Notice>}
          {props.children}
        </div>
      </div>
    </Layout>
  );
}

/** An error page: what happened and a way back. Same page for missing and hidden things. */
export function ErrorPage(props: { status: number; title: string; message: string; forgeName?: string; back?: Crumb }) {
  const back = props.back ?? { label: "Go to the front page", href: "/" };
  return (
    <Layout title={props.title} forgeName={props.forgeName}>
      <h1>{props.title}</h1>
      <p>{props.message}</p>
      <p>
        <a href={back.href}>{back.label}</a>
      </p>
      <p class="muted">Error {props.status}</p>
    </Layout>
  );
}
