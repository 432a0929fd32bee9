// A review's page: description, commits, the diff of a revision (or revision N compared with M)
// with line comments, verdicts, the conversation, and the forms that change it: comment,
// approve / request changes, status, merge. Every change is a POST that redirects back.
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { component } from "../../middleware/guards";
import { showFormErrors } from "../../middleware/errors";
import { rangeLog } from "../../../git/ancestry";
import { ZERO_OID } from "../../../git/oid";
import { diffTrees } from "../../../git/tree-diff";
import {
  ACTIVE_STATUSES,
  approvalProblem,
  findReview,
  commentOnReview,
  type LinePlace,
  listComments,
  listRevisions,
  listVerdicts,
  mergeReview,
  type Review,
  SETTABLE_STATUSES,
  setStatus,
  setVerdict,
  authorName,
  addPatchRevision,
} from "../../../services/reviews";
import { openReviewSource } from "../../../services/reviews/revisions";
import { badRequest, ForgeError } from "../../../utils/errors";
import { Notice, SubmitRow } from "../../../views/forms";
import { Layout } from "../../../views/layout";
import { commentBody, reviewDiff } from "../../../views/reviews-diff";
import { Conversation, Description, PatchVersionForm, Revisions, StatusBadge, Verdicts } from "../../../views/reviews";
import { SourceUrls } from "../../../views/source";
import { commitTable } from "../../../views/source/parts";
import { readForm } from "../helpers";
import { notFoundPage } from "../errors";
import { diffView, PAGE_CAPS, rows, TREE_DIFF_LIMIT } from "../source/history";
import { actorOf, type Ctx, patchContext, readSeriesForm, requireReviews, reviewHref, reviewRights, reviewsBase } from "./shared";

export const reviewPageRoutes = new Hono<AppEnv>();

const COMMITS_SHOWN = 250;
const MANAGE_ONLY = "Only those who may push to this repository change a review's status or merge it.";
const OK: Record<string, string> = {
  opened: "Review opened.",
  commented: "Comment added.",
  verdict: "Verdict recorded.",
  status: "Status changed.",
  merged: "Merged.",
  revised: "New version uploaded: it is the latest revision.",
};

async function loadReview(c: Ctx): Promise<Review | undefined> {
  return findReview(c.get("db"), c.get("project").id, Number(c.req.param("n")));
}

function linePlace(q: (k: string) => string | undefined): Omit<LinePlace, "lineText"> | undefined {
  const path = q("path");
  const side = q("side");
  const line = Number(q("line"));
  if (!path || (side !== "old" && side !== "new") || !Number.isSafeInteger(line) || line < 1) return undefined;
  return { path, side, line };
}

async function reviewPage(c: Ctx, review: Review, error?: string, status = 200): Promise<Response> {
  const db = c.get("db");
  const project = c.get("project");
  const viewer = c.get("viewer");
  const rights = reviewRights(viewer, project);
  const base = reviewHref(project.name, review.number);
  const [revisions, comments, verdicts, author] = await Promise.all([
    listRevisions(db, review.id),
    listComments(db, review.id),
    listVerdicts(db, review.id),
    authorName(db, review),
  ]);
  const latest = revisions[revisions.length - 1]!;
  const pick = (v: string | undefined) => (v ? revisions.find((r) => r.number === Number(v)) : undefined);
  const shown = pick(c.req.query("rev")) ?? latest;
  const compare = pick(c.req.query("compare"));
  if ((c.req.query("rev") && !pick(c.req.query("rev"))) || (c.req.query("compare") && !compare)) return notFoundPage(c);
  const src = await openReviewSource(c.env, c.get("tenant").id, project);
  const urls = new SourceUrls(project.name);
  const from = compare ? compare.headOid : shown.baseOid;
  const fromTree = from === ZERO_OID ? null : (await src.graph.commit(from)).tree;
  const toTree = (await src.graph.commit(shown.headOid)).tree;
  const { changes, truncated } = await diffTrees(src.store, fromTree, toTree, { limit: TREE_DIFF_LIMIT });
  const compareHref = urls.compare(from, shown.headOid);
  const diff = await diffView(
    src,
    changes,
    truncated,
    PAGE_CAPS,
    () => compareHref,
    (ch) => urls.blob(shown.headOid, ch.path.split("/")),
  );
  const { commits, more } = await rangeLog(src.graph, [shown.headOid], from === ZERO_OID ? [] : [from], COMMITS_SHOWN);
  const commitRows = await rows(
    src,
    commits.map((x) => x.oid),
  );
  const active = ACTIVE_STATUSES.includes(review.status);
  const patches = review.kind === "patches";
  const commentable = !compare && rights.write;
  const shownComments = comments.filter(
    (cm) => cm.path && cm.revision <= shown.number && (cm.outdatedRevision === null || cm.outdatedRevision > shown.number),
  );
  const held = active && rights.manage ? await approvalProblem(db, project, review) : null;
  const ok = OK[c.req.query("ok") ?? ""];
  const open = linePlace((k) => c.req.query(k));
  const lineHref = (path: string, side: "old" | "new", line: number) =>
    `${base}?${new URLSearchParams({ rev: String(shown.number), path, side, line: String(line) }).toString()}#lc`;
  return c.html(
    <Layout
      title={`Review ${review.number}: ${review.title} · ${project.name}`}
      forgeName={c.get("tenant").name}
      crumbs={[
        { label: project.name, href: `/p/${encodeURIComponent(project.name)}/` },
        { label: "Reviews", href: `${reviewsBase(project.name)}/` },
        { label: `#${review.number}` },
      ]}
      project={{ project, viewer, current: "reviews" }}
    >
      <h1>
        {review.title} <span class="muted">#{review.number}</span>
      </h1>
      {ok && !error && <Notice kind="ok">{ok}</Notice>}
      {error && <Notice kind="error">{error}</Notice>}
      <p>
        <StatusBadge status={review.status} /> <strong>{author ?? "someone"}</strong>{" "}
        {patches ? (
          <>asks to apply a series of {commitRows.length === 1 ? "1 patch" : `${commitRows.length} patches`} (uploaded) to </>
        ) : (
          <>
            asks to merge{" "}
            <a class="mono" href={urls.log(review.sourceBranch)}>
              {review.sourceBranch}
            </a>{" "}
            into{" "}
          </>
        )}
        <a class="mono" href={urls.log(review.targetBranch)}>
          {review.targetBranch}
        </a>
        {review.mergedOid && (
          <>
            {" "}
            as{" "}
            <a class="mono" href={urls.commit(review.mergedOid)}>
              {review.mergedOid.slice(0, 7)}
            </a>
          </>
        )}
      </p>
      <Description source={review.description} />
      <Revisions base={base} revisions={revisions} shown={shown.number} compare={compare?.number} />
      <h2>
        {compare
          ? `Revision ${compare.number} compared with revision ${shown.number}`
          : `${patches ? "Patches" : "Commits"} of revision ${shown.number}`}
      </h2>
      {patches && !compare && (
        <p class="muted">Each patch is a commit here, newest first, by the patch's author, as git am applies it.</p>
      )}
      {commitRows.length ? commitTable(urls, commitRows) : <p class="muted">No commits.</p>}
      {more && <p class="muted">Only the newest {COMMITS_SHOWN} commits are listed.</p>}
      <h2>Changes</h2>
      {commentable && <p class="muted">Select a line number to comment on that line.</p>}
      {reviewDiff({
        diff,
        project: project.name,
        comments: shownComments,
        open: commentable ? open : undefined,
        commentable: commentable ? { revision: shown.number, action: `${base}/comments`, href: lineHref } : null,
      })}
      {patches && active && (rights.manage || viewer.user?.id === review.authorId) && (
        <details class="new-version">
          <summary>Upload a new version of the patches</summary>
          <PatchVersionForm action={`${base}/revisions`} />
        </details>
      )}
      <h2>Verdicts</h2>
      <Verdicts verdicts={verdicts} />
      {rights.write && active && (
        <form method="post" action={`${base}/verdict`} class="inline">
          <button type="submit" name="verdict" value="approve">
            Approve
          </button>{" "}
          <button type="submit" name="verdict" value="changes">
            Request changes
          </button>
        </form>
      )}
      <h2>Conversation</h2>
      <Conversation comments={comments} render={(cm) => commentBody(project.name, cm)} />
      {rights.write && (
        <form method="post" action={`${base}/comments`} class="stack wide">
          <input type="hidden" name="revision" value={String(latest.number)} />
          <label for="f-body">Comment on the whole review</label>
          <textarea id="f-body" name="body" required maxlength={65536}></textarea>
          <SubmitRow label="Comment" plain />
        </form>
      )}
      {rights.manage && (
        <>
          <h2>Status and merge</h2>
          {held && <p class="notice info">{held}</p>}
          {active && (
            <form method="post" action={`${base}/merge`} class="inline">
              <button type="submit" class="primary">
                {patches ? `Apply to ${review.targetBranch}` : `Merge into ${review.targetBranch}`}
              </button>
            </form>
          )}{" "}
          {review.status !== "merged" && (
            <form method="post" action={`${base}/status`} class="inline">
              <label>
                Status{" "}
                <select name="status">
                  {SETTABLE_STATUSES.map((s) => (
                    <option value={s} selected={s === review.status}>
                      {s}
                    </option>
                  ))}
                </select>
              </label>{" "}
              <button type="submit">Set status</button>
            </form>
          )}
        </>
      )}
    </Layout>,
    status as 200,
  );
}

const N = "/p/:project/reviews/:n{[0-9]+}";

reviewPageRoutes.get(N, component("web.reviews.review"), requireReviews("read"), async (c) => {
  const review = await loadReview(c);
  return review ? reviewPage(c, review) : notFoundPage(c);
});

/** A POST on a review: the review (404 if none), errors shown on its page. */
function onReview(name: string, act: (c: Ctx, review: Review, form: Record<string, string>) => Promise<Response>) {
  reviewPageRoutes.post(`${N}/${name}`, component(`web.reviews.${name}`), requireReviews("write"), async (c) => {
    const review = await loadReview(c);
    if (!review) return notFoundPage(c);
    const form = await readForm(c);
    showFormErrors(c, ({ message, status }) => reviewPage(c, review, message, status));
    return act(c, review, form);
  });
}

onReview("comments", async (c, review, form) => {
  const project = c.get("project");
  const line = form.path ? { path: form.path, side: form.side, line: Number(form.line) } : {};
  const { id, revision } = await commentOnReview(c.env, c.get("db"), c.get("tenant").id, project, review, await actorOf(c), {
    body: form.body ?? "",
    revision: form.revision ? Number(form.revision) : undefined,
    ...line,
  });
  return c.redirect(`${reviewHref(project.name, review.number)}?rev=${revision}&ok=commented#c${id}`, 303);
});

onReview("verdict", async (c, review, form) => {
  const project = c.get("project");
  const verdict = form.verdict;
  if (verdict !== "approve" && verdict !== "changes") throw badRequest("A verdict is approve or changes.");
  const revisions = await listRevisions(c.get("db"), review.id);
  await setVerdict(c.get("db"), project.id, review, await actorOf(c), verdict, revisions[revisions.length - 1]!.number);
  return c.redirect(`${reviewHref(project.name, review.number)}?ok=verdict`, 303);
});

onReview("status", async (c, review, form) => {
  const project = c.get("project");
  if (!reviewRights(c.get("viewer"), project).manage) throw new ForgeError("forbidden", MANAGE_ONLY);
  await setStatus(c.get("db"), project.id, review, await actorOf(c), form.status ?? "");
  return c.redirect(`${reviewHref(project.name, review.number)}?ok=status`, 303);
});

onReview("merge", async (c, review) => {
  const project = c.get("project");
  if (!reviewRights(c.get("viewer"), project).manage) throw new ForgeError("forbidden", MANAGE_ONLY);
  await mergeReview(c.env, c.get("db"), patchContext(c, await actorOf(c)), review);
  return c.redirect(`${reviewHref(project.name, review.number)}?ok=merged`, 303);
});

reviewPageRoutes.post(`${N}/revisions`, component("web.reviews.revisions"), requireReviews("write"), async (c) => {
  const review = await loadReview(c);
  if (!review) return notFoundPage(c);
  const project = c.get("project");
  const { fields, series } = await readSeriesForm(c);
  showFormErrors(c, ({ message, status }) => reviewPage(c, review, `${message} No revision was added.`, status));
  const revision = await addPatchRevision(
    patchContext(c, await actorOf(c)),
    review,
    { series, target: review.targetBranch, base: fields.base },
    reviewRights(c.get("viewer"), project).manage,
  );
  return c.redirect(`${reviewHref(project.name, review.number)}?rev=${revision.number}&ok=revised`, 303);
});
