// The reviews API's OpenAPI description: JSON schemas and routes under
// /api/v1/projects/{project}/reviews (each with an operationId), validated before reviews-api.ts.
import { createRoute, z } from "@hono/zod-openapi";
import { errorResponse, jsonBody, jsonResponse, locationHeader, PageQuery, pagedResponse } from "./responses";

const StatusEnum = z.enum(["open", "accepted", "rejected", "merged", "closed"]);

const ReviewSchema = z
  .object({
    number: z.number(),
    title: z.string(),
    description: z.string().openapi({ description: "Markdown" }),
    status: StatusEnum,
    author: z.string().nullable(),
    kind: z.enum(["branch", "patches"]).openapi({ description: "branch: a source branch; patches: an uploaded patch series" }),
    source_branch: z.string().nullable().openapi({ description: "null for a patch review" }),
    target_branch: z.string(),
    merged_oid: z.string().nullable().openapi({ description: "Where the merge moved the target branch" }),
    created_at: z.string(),
    updated_at: z.string(),
    html_url: z.string(),
    url: z.string(),
  })
  .openapi("Review");

const RevisionSchema = z
  .object({
    number: z.number(),
    head: z.string(),
    base: z.string().openapi({ description: "Merge base with the target (40 zeros: none)" }),
    created_at: z.string(),
  })
  .openapi("ReviewRevision");
const VerdictSchema = z
  .object({ user: z.string(), verdict: z.enum(["approve", "changes"]), revision: z.number(), updated_at: z.string() })
  .openapi("ReviewVerdict");

const ReviewDetailSchema = ReviewSchema.extend({
  revisions: z.array(RevisionSchema),
  verdicts: z.array(VerdictSchema),
}).openapi("ReviewDetail");

const CommentSchema = z
  .object({
    id: z.number(),
    author: z.string().nullable(),
    body: z.string().openapi({ description: "Markdown" }),
    revision: z.number(),
    path: z.string().nullable(),
    side: z.enum(["old", "new"]).nullable(),
    line: z.number().nullable(),
    line_text: z.string().nullable(),
    outdated: z.boolean().openapi({ description: "A later revision changed the line" }),
    outdated_revision: z.number().nullable(),
    created_at: z.string(),
  })
  .openapi("ReviewComment");

const PATCHES_DESCRIPTION =
  "A patch series: the output of git format-patch (one or many patches, or one .patch), at most 1 MiB and 100 patches; applied like git am";
const NewReviewSchema = z
  .object({
    title: z
      .string()
      .max(200)
      .optional()
      .openapi({ description: "Required for a branch review; for patches, default the cover letter's or first patch's subject" }),
    description: z.string().max(65_536).optional(),
    source: z
      .string()
      .max(250)
      .optional()
      .openapi({ description: "Branch with the changes (or give patches)", example: "feature" }),
    patches: z
      .string()
      .optional()
      .openapi({ description: `${PATCHES_DESCRIPTION} (instead of source)` }),
    base: z
      .string()
      .max(250)
      .optional()
      .openapi({ description: "With patches: the commit, tag or branch they apply to (default: the target's tip)" }),
    target: z.string().max(250).openapi({ description: "Branch to merge into", example: "main" }),
  })
  .openapi("NewReview");
const NewRevisionSchema = z
  .object({
    patches: z.string().openapi({ description: PATCHES_DESCRIPTION }),
    base: z.string().max(250).optional().openapi({ description: "What they apply to (default: the target's tip)" }),
  })
  .openapi("NewReviewRevision");
const ReviewUpdateSchema = z.object({ status: z.enum(["open", "accepted", "rejected", "closed"]) }).openapi("ReviewUpdate");
const NewCommentSchema = z
  .object({
    body: z.string().max(65_536),
    revision: z.number().int().positive().optional().openapi({ description: "Default: the latest" }),
    path: z.string().max(4096).optional().openapi({ description: "A line comment: the file" }),
    side: z.enum(["old", "new"]).optional().openapi({ description: "old: the base, new: the head" }),
    line: z.number().int().positive().optional(),
  })
  .openapi("NewReviewComment");
const VerdictInputSchema = z.object({ verdict: z.enum(["approve", "changes"]) }).openapi("ReviewVerdictInput");
const MergeSchema = z.object({ kind: z.enum(["fast-forward", "merge"]), oid: z.string() }).openapi("ReviewMerge");

const ProjectParam = z.object({ project: z.string().openapi({ param: { name: "project", in: "path" }, example: "website" }) });
const ReviewParams = ProjectParam.extend({
  number: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "number", in: "path" }, example: 1 }),
});

const common = {
  400: errorResponse("Invalid request"),
  401: errorResponse("Missing or wrong credentials"),
  403: errorResponse("Not allowed (read-only token, or may not push to merge or change the status)"),
  404: errorResponse("No such project or review, or hidden from the caller"),
};
const conflict = {
  409: errorResponse("The review's state forbids it, or the merge conflicts (the message names the files both sides changed)"),
};

const base = "/api/v1/projects/{project}/reviews";
/** The same path as Hono matches it. */
export const REVIEWS_ROUTE_BASE = "/api/v1/projects/:project/reviews";
const tags = ["Reviews"];

export const reviewRoutes = {
  list: createRoute({
    method: "get",
    path: base,
    operationId: "listReviews",
    tags,
    summary: "List a project's reviews, newest first",
    request: {
      params: ProjectParam,
      query: PageQuery.extend({ status: z.enum(["all", ...StatusEnum.options]).default("open") }),
    },
    responses: { 200: pagedResponse(z.array(ReviewSchema), "The reviews"), ...common },
  }),
  create: createRoute({
    method: "post",
    path: base,
    operationId: "createReview",
    tags,
    summary: "Open a review of a source branch, or of an uploaded patch series, into a target branch",
    request: { params: ProjectParam, body: jsonBody(NewReviewSchema) },
    responses: { 201: { ...jsonResponse(ReviewDetailSchema, "The review"), headers: locationHeader }, ...common, ...conflict },
  }),
  get: createRoute({
    method: "get",
    path: `${base}/{number}`,
    operationId: "getReview",
    tags,
    summary: "A review with its revisions and verdicts",
    request: { params: ReviewParams },
    responses: { 200: jsonResponse(ReviewDetailSchema, "The review"), ...common },
  }),
  update: createRoute({
    method: "patch",
    path: `${base}/{number}`,
    operationId: "updateReview",
    tags,
    summary: "Change a review's status (those who may push)",
    request: { params: ReviewParams, body: jsonBody(ReviewUpdateSchema) },
    responses: { 200: jsonResponse(ReviewDetailSchema, "The review"), ...common, ...conflict },
  }),
  comments: createRoute({
    method: "get",
    path: `${base}/{number}/comments`,
    operationId: "listReviewComments",
    tags,
    summary: "A review's comments, oldest first",
    request: { params: ReviewParams },
    responses: { 200: jsonResponse(z.array(CommentSchema), "The comments"), ...common },
  }),
  comment: createRoute({
    method: "post",
    path: `${base}/{number}/comments`,
    operationId: "createReviewComment",
    tags,
    summary: "Comment on a review, or on a line of a file in one of its revisions",
    request: { params: ReviewParams, body: jsonBody(NewCommentSchema) },
    responses: { 201: jsonResponse(CommentSchema, "The comment"), ...common },
  }),
  verdict: createRoute({
    method: "post",
    path: `${base}/{number}/verdicts`,
    operationId: "setReviewVerdict",
    tags,
    summary: "Approve a review or request changes (replaces the caller's earlier verdict)",
    request: { params: ReviewParams, body: jsonBody(VerdictInputSchema) },
    responses: { 200: jsonResponse(ReviewDetailSchema, "The review"), ...common, ...conflict },
  }),
  revision: createRoute({
    method: "post",
    path: `${base}/{number}/revisions`,
    operationId: "addReviewRevision",
    tags,
    summary: "Upload a new version of a patch review's series: its next revision (the author, or those who may push)",
    request: { params: ReviewParams, body: jsonBody(NewRevisionSchema) },
    responses: { 201: jsonResponse(ReviewDetailSchema, "The review"), ...common, ...conflict },
  }),
  merge: createRoute({
    method: "post",
    path: `${base}/{number}/merge`,
    operationId: "mergeReview",
    tags,
    summary: "Merge the review into its target branch (fast-forward, else a merge commit)",
    request: { params: ReviewParams },
    responses: { 200: jsonResponse(MergeSchema, "Where the target branch is now"), ...common, ...conflict },
  }),
};
