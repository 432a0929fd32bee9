// Shared pieces of the wiki's pages: the frame's model for a request, rendering a page's text
// (its [[links]] looked up first), and reading the wiki's forms (repeated label fields included).
import type { Context } from "hono";
import type { AppEnv, WikiArea } from "../../context";
import type { Crumb } from "../../../views/layout";
import {
  renderMarkdownDocument,
  wikiLinkTargets,
  type AutoLinks,
  type MarkdownOptions,
  type TocEntry,
} from "../../../views/markdown";
import type { TrustedHtml } from "../../../views/trusted-html";
import { pageHref, wikiBase, type FrameModel, type WikiTab } from "../../../views/wiki/frame";
import { existingPages, pageNameOf } from "../../../services/wiki";
import { ForgeError } from "../../../utils/errors";
import { limitBody } from "../helpers";

export type Ctx = Context<AppEnv>;

export function frameOf(c: Ctx, title: string, tab: WikiTab, crumbs: Crumb[] = [], q?: string): FrameModel {
  const w = c.get("wiki");
  return {
    forgeName: c.get("tenant").name,
    project: w.project.name,
    title,
    tab,
    canWrite: w.canWrite,
    canConfigure: w.canConfigure,
    crumbs,
    q,
    nav: { project: w.project, viewer: w.viewer, current: "wiki" },
  };
}

/** Crumbs of a page: its title links to it. */
export const pageCrumbs = (w: WikiArea, name: string, title: string, more?: string): Crumb[] =>
  more ? [{ label: title, href: pageHref(w.project.name, name) }, { label: more }] : [{ label: title }];

/** How a page's Markdown renders: [[links]] looked up (missing ones ask to create), resource: URLs. */
export async function wikiMarkdownOptions(
  c: Ctx,
  pageName: string,
  body: string,
): Promise<{ links: AutoLinks; opts: MarkdownOptions }> {
  const w = c.get("wiki");
  const targets = wikiLinkTargets(body)
    .map((t) => pageNameOf(t))
    .filter((n): n is string => n !== null);
  const existing = await existingPages(c.get("db"), w.project.id, targets);
  return {
    links: { project: w.project.name },
    opts: {
      toc: true,
      wiki: {
        base: wikiBase(w.project.name),
        nameOf: pageNameOf,
        existing,
        resources: `${pageHref(w.project.name, pageName)}/resources/`,
      },
    },
  };
}

/** A page's Markdown as HTML with its contents. */
export async function renderWikiText(c: Ctx, pageName: string, body: string): Promise<{ html: TrustedHtml; toc: TocEntry[] }> {
  const { links, opts } = await wikiMarkdownOptions(c, pageName, body);
  return renderMarkdownDocument(body, links, opts);
}

const FORM_MAX_BYTES = 300 * 1024;

/** A wiki form's fields, with every value of `label` (checkboxes) kept. */
export async function readWikiForm(c: Ctx): Promise<{ fields: Record<string, string>; labels: string[] }> {
  await limitBody(c, FORM_MAX_BYTES, `This form is over ${FORM_MAX_BYTES / 1024} KiB; shorten the text and send it again.`);
  let body: Record<string, string | File | (string | File)[]>;
  try {
    body = await c.req.parseBody({ all: true });
  } catch {
    throw new ForgeError("bad_request", "This form could not be read; reload the page and send it again.");
  }
  const fields: Record<string, string> = {};
  let labels: string[] = [];
  for (const [k, v] of Object.entries(body)) {
    const values = (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === "string");
    if (k === "label") labels = values;
    else if (values.length) fields[k] = values[values.length - 1]!;
  }
  return { fields, labels };
}

/** A revision number from the URL or a form: a positive integer, else 400. */
export function revisionNumber(value: string | undefined, what = "revision"): number {
  const n = Number(value);
  if (!value || !Number.isSafeInteger(n) || n < 1)
    throw new ForgeError("bad_request", `The ${what} is a revision number (1, 2, 3...).`);
  return n;
}

/** Who is writing: guards make sure a writer is signed in. */
export function actorOf(c: Ctx): { id: number; username: string } {
  const user = c.get("wiki").user;
  if (!user) throw new ForgeError("unauthorized", "Sign in to change the wiki.");
  return { id: user.id, username: user.username };
}
