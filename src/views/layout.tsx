// The page frame shared by every HTML page: skip link, header with breadcrumbs (and a project's
// tab bar), main, footer.
import type { Child } from "hono/jsx";
import { html } from "hono/html";
import { stylesheetPath } from "./style";
import { faviconPath, pageScriptPath } from "./static-assets";
import { type ProjectNav, ProjectTabs } from "./project-nav";
import { pageContext } from "./page-context";
import { Notice } from "./forms";

export interface Crumb {
  label: string;
  href?: string;
}

export interface Feed {
  title: string;
  href: string;
}

export function Layout(props: {
  title: string;
  forgeName?: string;
  crumbs?: Crumb[];
  /** A project's page: its tab bar, with this page's tab marked. */
  project?: ProjectNav;
  /** Atom feeds of what this page shows, for feed readers' discovery. */
  feeds?: Feed[];
  /** false: the forge's name is not a link to "/" (pages where "/" is this same page). */
  homeLink?: boolean;
  children?: Child;
}) {
  const crumbs = props.crumbs ?? [];
  const forge = props.forgeName ?? "Edgeforge";
  return (
    <>
      {html`<!DOCTYPE html>`}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{props.forgeName ? `${props.title} · ${props.forgeName}` : props.title}</title>
          <link rel="stylesheet" href={stylesheetPath} />
          <link rel="icon" type="image/svg+xml" href={faviconPath} />
          {(props.feeds ?? []).map((f) => (
            <link rel="alternate" type="application/atom+xml" title={f.title} href={f.href} />
          ))}
          <script src={pageScriptPath} defer></script>
        </head>
        <body>
          <a class="skip" href="#main">
            Skip to main content
          </a>
          <header class="site">
            <div class="bar">
              {props.homeLink === false ? (
                <span class="brand">{forge}</span>
              ) : (
                <a class="brand" href="/">
                  {forge}
                </a>
              )}
              {crumbs.length > 0 && (
                <nav class="crumbs" aria-label="Breadcrumb">
                  {crumbs.map((c) => (
                    <span>{c.href ? <a href={c.href}>{c.label}</a> : c.label}</span>
                  ))}
                </nav>
              )}
              <AccountNav />
            </div>
            {props.project && <ProjectTabs nav={props.project} />}
          </header>
          <main id="main" tabindex={-1}>
            {props.children}
          </main>
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
      <a href="/watchlist">Watch list</a>
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

/**
 * An error page: what happened and a way back. Same page for missing and hidden things. Within a
 * project the viewer may see, it keeps the project's tab bar; `back: null` offers no way back
 * (there is nowhere on this host to go).
 */
export function ErrorPage(props: {
  status: number;
  title: string;
  message: string;
  forgeName?: string;
  back?: Crumb | null;
  project?: ProjectNav;
}) {
  const back = props.back === undefined ? { label: "Go to the front page", href: "/" } : props.back;
  const crumbs = props.project
    ? [{ label: props.project.project.name, href: `/p/${encodeURIComponent(props.project.project.name)}/` }]
    : undefined;
  return (
    <Layout
      title={props.title}
      forgeName={props.forgeName}
      crumbs={crumbs}
      project={props.project}
      homeLink={props.back !== null}
    >
      <h1>{props.title}</h1>
      <p>{props.message}</p>
      {back && (
        <p>
          <a href={back.href}>{back.label}</a>
        </p>
      )}
      <p class="muted">Error {props.status}</p>
    </Layout>
  );
}
