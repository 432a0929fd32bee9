// The review list of a project (with its status filter) and opening a review: choose a source
// and a target branch, or upload a patch series for a branch; a title and a description. The
// review's own page is review-page.tsx.
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { component } from "../../middleware/guards";
import { showFormErrors } from "../../middleware/errors";
import { branches, defaultBranch } from "../../../services/source";
import { listReviews, openPatchReview, openReview, REVIEW_STATUSES, TITLE_MAX } from "../../../services/reviews";
import { SERIES_MAX_BYTES } from "../../../services/reviews/patch-series";
import { openReviewSource } from "../../../services/reviews/revisions";
import { Field, Notice, SubmitRow, TextArea } from "../../../views/forms";
import { Layout } from "../../../views/layout";
import { BranchSelect, PatchSeriesForm, ReviewFilter, ReviewTable } from "../../../views/reviews";
import { readForm } from "../helpers";
import { actorOf, type Ctx, patchContext, readSeriesForm, requireReviews, reviewHref, reviewRights, reviewsBase } from "./shared";
import { reviewPageRoutes } from "./review-page";

export const reviewRoutes = new Hono<AppEnv>();

const PAGE = 50;

reviewRoutes.get("/p/:project/reviews", (c) => c.redirect(`${reviewsBase(c.req.param("project"))}/`, 301));

reviewRoutes.get("/p/:project/reviews/", component("web.reviews.list"), requireReviews("read"), async (c) => {
  const project = c.get("project");
  const status = c.req.query("status") ?? "open";
  const page = Math.max(1, Math.min(10_000, Number.parseInt(c.req.query("page") ?? "1", 10) || 1));
  const { items, total } = await listReviews(c.get("db"), project.id, { status, offset: (page - 1) * PAGE, limit: PAGE });
  const rights = reviewRights(c.get("viewer"), project);
  const base = reviewsBase(project.name);
  return c.html(
    <Layout
      title={`Reviews · ${project.name}`}
      forgeName={c.get("tenant").name}
      crumbs={[{ label: project.name, href: `/p/${encodeURIComponent(project.name)}/` }, { label: "Reviews" }]}
      project={{ project, viewer: c.get("viewer"), current: "reviews" }}
    >
      <div class="iss-head">
        <h1>
          Reviews <span class="muted">({total})</span>
        </h1>
        {rights.write && (
          <a class="button primary" href={`${base}/new`}>
            New review
          </a>
        )}
      </div>
      <ReviewFilter project={project.name} status={status} statuses={REVIEW_STATUSES} />
      {items.length ? (
        <ReviewTable project={project.name} rows={items} />
      ) : (
        <p class="muted">
          No {status === "all" ? "" : `${status} `}reviews. Push a branch, then open a review to have it looked at before it is
          merged.
        </p>
      )}
      {total > page * PAGE && (
        <nav class="iss-pager" aria-label="Pages">
          <a href={`${base}/?status=${encodeURIComponent(status)}&page=${page + 1}`} rel="next">
            Older ›
          </a>
        </nav>
      )}
    </Layout>,
  );
});

async function newReviewPage(c: Ctx, draft: Record<string, string>, error?: string, status = 200) {
  const project = c.get("project");
  const src = await openReviewSource(c.env, c.get("tenant").id, project);
  const names = branches(src.snapshot)
    .map((r) => r.name.slice("refs/heads/".length))
    .slice(0, 1000);
  const target = draft.target ?? defaultBranch(src.snapshot);
  const source = draft.source ?? names.find((n) => n !== target) ?? target;
  return c.html(
    <Layout
      title={`New review · ${project.name}`}
      forgeName={c.get("tenant").name}
      crumbs={[
        { label: project.name, href: `/p/${encodeURIComponent(project.name)}/` },
        { label: "Reviews", href: `${reviewsBase(project.name)}/` },
        { label: "New review" },
      ]}
      project={{ project, viewer: c.get("viewer"), current: "reviews" }}
    >
      <h1>New review</h1>
      {error && <Notice kind="error">{error}</Notice>}
      <h2>Of a branch</h2>
      {names.length < 2 ? (
        <p class="muted">A review asks to merge one branch into another: push a second branch first.</p>
      ) : (
        <form method="post" action={`${reviewsBase(project.name)}/new`} class="stack wide">
          <BranchSelect label="Merge the commits of (source branch)" name="source" branches={names} selected={source} />
          <BranchSelect label="Into (target branch)" name="target" branches={names} selected={target} />
          <Field
            label="Title"
            name="title"
            value={draft.title ?? ""}
            required
            maxlength={TITLE_MAX}
            hint="One line: what the change does."
          />
          <TextArea
            label="Description"
            name="description"
            value={draft.description ?? ""}
            maxlength={65536}
            hint="Markdown: why, and what to look at."
          />
          <SubmitRow label="Open review" />
        </form>
      )}
      <h2>Of a patch series</h2>
      {names.length ? (
        <PatchSeriesForm
          action={`${reviewsBase(project.name)}/new/patches`}
          branches={names}
          target={draft.patch_target ?? defaultBranch(src.snapshot)}
          draft={draft}
          maxBytes={SERIES_MAX_BYTES}
        />
      ) : (
        <p class="muted">Patches apply to a branch: this repository has none yet.</p>
      )}
    </Layout>,
    status as 200,
  );
}

reviewRoutes.get("/p/:project/reviews/new", component("web.reviews.new"), requireReviews("write"), (c) =>
  newReviewPage(c, { ...(c.req.query("source") ? { source: c.req.query("source")! } : {}) }),
);

reviewRoutes.post("/p/:project/reviews/new", component("web.reviews.new"), requireReviews("write"), async (c) => {
  const project = c.get("project");
  const form = await readForm(c);
  showFormErrors(c, ({ message, status }) => newReviewPage(c, form, `${message} Nothing was opened.`, status));
  const user = await actorOf(c);
  const review = await openReview(c.env, c.get("db"), c.get("tenant").id, project, user, {
    title: form.title ?? "",
    description: form.description ?? "",
    source: form.source ?? "",
    target: form.target ?? "",
  });
  return c.redirect(`${reviewHref(project.name, review.number)}?ok=opened`, 303);
});

reviewRoutes.post("/p/:project/reviews/new/patches", component("web.reviews.new-patches"), requireReviews("write"), async (c) => {
  const project = c.get("project");
  const { fields, series } = await readSeriesForm(c);
  showFormErrors(c, ({ message, status }) => newReviewPage(c, fields, `${message} Nothing was opened.`, status));
  const review = await openPatchReview(patchContext(c, await actorOf(c)), {
    series,
    target: fields.patch_target ?? "",
    base: fields.patch_base,
    title: fields.patch_title,
    description: fields.patch_description,
  });
  return c.redirect(`${reviewHref(project.name, review.number)}?ok=opened`, 303);
});

reviewRoutes.route("/", reviewPageRoutes);
