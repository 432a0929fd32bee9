// Code review in workerd: reviews opened from two pushed branches, line comments, new revisions
// recorded by the post-push consumer's own function (twice: queues deliver at least once) with
// comments on changed lines marked outdated, and merges by the forge through the push path:
// fast-forward, a merge commit, a refused conflict naming the files, the approval rule, and the
// `fixes #N` rule applied on merge.
import { env as workerEnv } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { recordPush } from "../../src/services/post-push";
import { openStore, repoStub } from "../../src/services/repositories";
import { parseCommit } from "../../src/git/objects";
import { oidAtPath } from "../../src/git/tree-path";
import { ZERO_OID, type Oid } from "../../src/git/oid";
import { apiCall, Browser, newForge, registerUser, tenantD1, type Forge } from "./browser";
import { RepoBuilder, pushRef, type FileMap } from "./git-fixture";
import { drainPostPush } from "./helpers";

const env = workerEnv as unknown as Env;

let forge: Forge;
let owner: Browser;
let repoId: string;
const repo = new RepoBuilder();
const tips: Record<string, Oid> = {};

async function push(branch: string, files: FileMap, message: string, parents?: Oid[], deliver = true): Promise<Oid> {
  const ref = `refs/heads/${branch}`;
  const old = tips[branch] ?? ZERO_OID;
  const next = repo.commit({ files, parents: parents ?? (tips[branch] ? [tips[branch]!] : []), message });
  const res = await pushRef(forge.host, "code", forge.ownerToken, repo, [...repo.objects.keys()], ref, old, next);
  const report = new TextDecoder().decode(await res.arrayBuffer());
  expect(report, report).toContain(`ok ${ref}`);
  tips[branch] = next;
  // What the post-push queue consumer runs for this push, delivered twice.
  const event = pushed(ref, old, next);
  if (deliver) {
    await recordPush(env, event);
    await recordPush(env, event);
  }
  return next;
}

const pushed = (ref: string, old: Oid, next: Oid) => ({
  tenantId: forge.id,
  repoId,
  pusher: "owner",
  updates: [{ name: ref, old, new: next }],
  at: new Date().toISOString(),
});

const refs = async () =>
  new Map((await repoStub(env, { tenantId: forge.id, repoId }).snapshot()).refs.map((r) => [r.name, r.oid]));

async function fileAt(commit: Oid, path: string): Promise<string | null> {
  const snapshot = await repoStub(env, { tenantId: forge.id, repoId }).snapshot();
  const store = await openStore(env.OBJECTS, { tenantId: forge.id, repoId }, snapshot);
  const c = parseCommit(await store.readTyped(commit, "commit"));
  const oid = await oidAtPath(store, c.tree, path.split("/"));
  return oid ? new TextDecoder().decode(await store.readTyped(oid, "blob")) : null;
}

async function openReview(source: string, target: string, title: string): Promise<number> {
  const res = await owner.post("/p/code/reviews/new", { source, target, title, description: "Please *look*." });
  expect(res.status, await res.clone().text()).toBe(303);
  return Number(/reviews\/(\d+)/.exec(res.headers.get("location")!)![1]);
}

const page = async (n: number, query = "") => {
  const res = await owner.get(`/p/code/reviews/${n}${query}`);
  expect(res.status).toBe(200);
  return res.text();
};

const base = { "README.md": "hello\n", "src/app.txt": "one\ntwo\nthree\nfour\nfive\n", "docs/guide.txt": "guide\n" };

beforeAll(async () => {
  forge = await newForge("reviews");
  expect((await apiCall(forge.host, "POST", "/api/v1/projects", forge.ownerToken, { name: "code" })).status).toBe(201);
  expect(
    (await apiCall(forge.host, "POST", "/api/v1/projects/code/issues", forge.ownerToken, { title: "Two is wrong" })).status,
  ).toBe(201);
  const db = await tenantD1(forge);
  repoId = (await db.prepare("SELECT repo_id FROM projects WHERE name = 'code'").first<{ repo_id: string }>())!.repo_id;
  owner = new Browser(forge.host);
  await owner.signIn("owner", forge.ownerPassword);
  await push("main", base, "Initial commit");
}, 120_000);

describe("reviews", () => {
  it("opens a review of a branch, takes a line comment, and marks it outdated when a new revision changes the line", async () => {
    await push("feature", { ...base, "src/app.txt": "one\nTWO\nthree\nfour\nfive\n" }, "Shout two\n\nFixes #1.", [tips.main!]);
    const n = await openReview("feature", "main", "Shout two");
    let html = await page(n);
    expect(html).toContain("Shout two");
    expect(html).toContain("+TWO");
    expect(html).toContain('aria-label="Comment on new line 2 of src/app.txt"');
    // The line's form, then the comment (the line's text is read from the repository, not the form).
    html = await page(n, "?rev=1&path=src/app.txt&side=new&line=2");
    expect(html).toContain('name="line" value="2"');
    let res = await owner.post(`/p/code/reviews/${n}/comments`, {
      revision: "1",
      path: "src/app.txt",
      side: "new",
      line: "2",
      body: "Why shout?",
    });
    expect(res.status).toBe(303);
    res = await owner.post(`/p/code/reviews/${n}/comments`, {
      revision: "1",
      path: "src/app.txt",
      side: "new",
      line: "4",
      body: "Four is fine.",
    });
    expect(res.status).toBe(303);
    // A line that is not there: a precise 400, nothing stored.
    res = await owner.post(`/p/code/reviews/${n}/comments`, {
      revision: "1",
      path: "src/app.txt",
      side: "new",
      line: "99",
      body: "Nope",
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("line 99 is not one of them");
    const db = await tenantD1(forge);
    let rows = (await db.prepare("SELECT line, line_text, outdated_revision FROM review_comments ORDER BY id").all()).results;
    expect(rows).toEqual([
      { line: 2, line_text: "TWO", outdated_revision: null },
      { line: 4, line_text: "four", outdated_revision: null },
    ]);

    await push("feature", { ...base, "src/app.txt": "one\nTwo!\nthree\nfour\nfive\n" }, "Less shouting");
    const revisions = (await db.prepare("SELECT r.number, r.head_oid FROM review_revisions r ORDER BY r.number").all()).results;
    expect(revisions).toEqual([
      { number: 1, head_oid: expect.any(String) },
      { number: 2, head_oid: tips.feature },
    ]);
    rows = (await db.prepare("SELECT line, outdated_revision FROM review_comments ORDER BY id").all()).results;
    expect(rows).toEqual([
      { line: 2, outdated_revision: 2 },
      { line: 4, outdated_revision: null },
    ]);
    html = await page(n);
    expect(html).toMatch(/Why shout\?/);
    expect(html).toMatch(/class="badge outdated"[^>]*>outdated</);
    // Revision 1 compared with 2 shows what the push changed.
    html = await page(n, "?compare=1&rev=2");
    expect(html).toContain("-TWO");
    expect(html).toContain("+Two!");
  });

  it("merges by fast-forward when the target has not moved, and applies fixes #N to the target", async () => {
    const n = 1;
    const res = await owner.post(`/p/code/reviews/${n}/merge`, {});
    expect(res.status, await res.clone().text()).toBe(303);
    expect((await refs()).get("refs/heads/main")).toBe(tips.feature);
    tips.main = tips.feature!;
    const html = await page(n);
    expect(html).toContain("badge review-merged");
    const issue = (await (await apiCall(forge.host, "GET", "/api/v1/projects/code/issues/1")).json()) as { state: string };
    expect(issue.state).toBe("closed");
    // The timeline tells of the review and leads to it.
    const timeline = await (await owner.get("/p/code/timeline?kind=review")).text();
    expect(timeline).toContain("owner merged review 1 into main: Shout two");
    expect(timeline).toContain('href="/p/code/reviews/1"');
    // Its event names the review by id and number, for the mail handler (services/notifications/).
    const d1 = await tenantD1(forge);
    const [merged] = (
      await d1.prepare("SELECT payload FROM events WHERE kind = 'review' AND title LIKE 'owner merged review 1 %'").all<{
        payload: string;
      }>()
    ).results;
    const reviewId = (await d1.prepare("SELECT id FROM reviews WHERE number = 1").first<{ id: number }>())!.id;
    expect(JSON.parse(merged!.payload)).toMatchObject({ number: 1, reviewId, action: "merged" });
    // Merged is final: a second merge is refused cleanly.
    const again = await owner.post(`/p/code/reviews/${n}/merge`, {});
    expect(again.status).toBe(409);
  });

  it("writes a merge commit when both sides moved, with both changes", async () => {
    const fork = tips.main!;
    await push(
      "topic",
      { ...base, "src/app.txt": "one\nTwo!\nthree\nfour\nfive\n", "docs/guide.txt": "a better guide\n" },
      "Better guide",
      [fork],
    );
    const n = await openReview("topic", "main", "Better guide");
    await push(
      "main",
      { ...base, "src/app.txt": "one\nTwo!\nthree\nfour\nfive\n", "README.md": "hello, world\n" },
      "Greet the world",
    );
    const res = await owner.post(`/p/code/reviews/${n}/merge`, {});
    expect(res.status, await res.clone().text()).toBe(303);
    const merged = (await refs()).get("refs/heads/main")!;
    const snapshot = await repoStub(env, { tenantId: forge.id, repoId }).snapshot();
    const store = await openStore(env.OBJECTS, { tenantId: forge.id, repoId }, snapshot);
    const commit = parseCommit(await store.readTyped(merged, "commit"));
    expect(commit.parents).toEqual([tips.main, tips.topic]);
    expect(commit.message).toContain(`Merge review #${n}: Better guide`);
    expect(await fileAt(merged, "README.md")).toBe("hello, world\n");
    expect(await fileAt(merged, "docs/guide.txt")).toBe("a better guide\n");
    tips.main = merged;
  });

  it("refuses a merge whose sides changed the same file differently, naming the files, and changes nothing", async () => {
    const fork = tips.main!;
    const mainFiles = {
      ...base,
      "src/app.txt": "one\nTwo!\nthree\nfour\nfive\n",
      "README.md": "hello, world\n",
      "docs/guide.txt": "a better guide\n",
    };
    await push("clash", { ...mainFiles, "README.md": "hi there\n", "docs/guide.txt": "guide v3\n" }, "Clash", [fork]);
    const n = await openReview("clash", "main", "Clash");
    await push("main", { ...mainFiles, "README.md": "hello again\n", "docs/guide.txt": "guide v2\n" }, "Main moves");
    const before = await refs();
    const res = await owner.post(`/p/code/reviews/${n}/merge`, {});
    expect(res.status).toBe(409);
    const text = await res.text();
    expect(text).toContain("both changed these 2 files: README.md, docs/guide.txt");
    expect(await refs()).toEqual(before);
    expect(await page(n)).toContain("badge review-open");
  });

  it("holds a merge into a protected branch that requires an approval until someone other than the author approves", async () => {
    // The owner's repository settings: main protected, with the rule "requires an approval".
    const saved = await owner.post("/p/code/admin/repository", { protected_branches: "main", protected_need_approval: "1" });
    expect(saved.status).toBe(303);
    await push(
      "small",
      {
        ...base,
        "src/app.txt": "one\nTwo!\nthree\nfour\nfive\n",
        "README.md": "hello again\n",
        "docs/guide.txt": "guide v2\n",
        "NEW.txt": "new\n",
      },
      "Add a file",
      [tips.main!],
    );
    const n = await openReview("small", "main", "Add a file");
    let res = await owner.post(`/p/code/reviews/${n}/merge`, {});
    expect(res.status).toBe(409);
    expect(await res.text()).toContain("once someone other than its author approves it");
    // The author's own approval does not count.
    expect((await owner.post(`/p/code/reviews/${n}/verdict`, { verdict: "approve" })).status).toBe(303);
    expect((await owner.post(`/p/code/reviews/${n}/merge`, {})).status).toBe(409);
    const reviewer = await registerUser(forge, "rita");
    expect((await reviewer.post(`/p/code/reviews/${n}/verdict`, { verdict: "changes" })).status).toBe(303);
    res = await owner.post(`/p/code/reviews/${n}/merge`, {});
    expect(res.status).toBe(409);
    expect(await res.text()).toContain("rita asked for changes");
    // A reviewer who may not push cannot merge.
    expect((await reviewer.post(`/p/code/reviews/${n}/merge`, {})).status).toBe(403);
    expect((await reviewer.post(`/p/code/reviews/${n}/verdict`, { verdict: "approve" })).status).toBe(303);
    res = await owner.post(`/p/code/reviews/${n}/merge`, {});
    expect(res.status, await res.clone().text()).toBe(303);
    expect((await refs()).get("refs/heads/main")).toBe(tips.small);
  });
});

describe("reviews API", () => {
  const call = (method: string, path: string, body?: unknown, token = forge.ownerToken) =>
    apiCall(forge.host, method, `/api/v1/projects/code${path}`, token, body);

  it("lists, opens, comments on lines, reports outdated comments and refuses conflicting merges naming files", async () => {
    // The approval rule off again (its box unticked), so the merge below meets the conflict itself.
    expect((await owner.post("/p/code/admin/repository", { protected_branches: "main" })).status).toBe(303);
    let res = await call("GET", "/reviews?status=all");
    expect(res.status).toBe(200);
    const all = (await res.json()) as { number: number; status: string }[];
    expect(all.map((r) => r.status)).toEqual(["merged", "open", "merged", "merged"]);
    expect(res.headers.get("x-total-count")).toBe("4");

    res = await call("GET", "/reviews/1/comments");
    const comments = (await res.json()) as { line: number; outdated: boolean; line_text: string }[];
    expect(comments.map((c) => [c.line, c.line_text, c.outdated])).toEqual([
      [2, "TWO", true],
      [4, "four", false],
    ]);

    res = await call("POST", "/reviews/3/comments", { body: "On the README", path: "README.md", side: "new", line: 1 });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ path: "README.md", line: 1, line_text: "hi there", outdated: false, revision: 1 });
    res = await call("POST", "/reviews/3/comments", { body: "bad", path: "README.md", side: "sideways", line: 1 });
    expect(res.status).toBe(400);

    res = await call("POST", "/reviews/3/merge");
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("README.md, docs/guide.txt");

    res = await call("PATCH", "/reviews/3", { status: "rejected" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "rejected", revisions: [{ number: 1 }] });
    // Merged is final.
    expect((await call("PATCH", "/reviews/1", { status: "open" })).status).toBe(409);
  });

  it("opens a review and refuses what is not a review: same branches, missing branches, nothing to merge", async () => {
    expect((await call("POST", "/reviews", { title: "Same", source: "main", target: "main" })).status).toBe(400);
    const missing = await call("POST", "/reviews", { title: "Missing", source: "nope", target: "main" });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toContain("no branch nope");
    expect((await call("POST", "/reviews", { title: "Done", source: "feature", target: "main" })).status).toBe(409);
  });

  it("answers 404 for a missing project, 401 to an anonymous comment; the OpenAPI document names each operation", async () => {
    expect((await apiCall(forge.host, "GET", "/api/v1/projects/nothing-here/reviews")).status).toBe(404);
    expect(
      (await apiCall(forge.host, "POST", "/api/v1/projects/code/reviews/3/comments", undefined, { body: "hi" })).status,
    ).toBe(401);
    const doc = (await (await apiCall(forge.host, "GET", "/api/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    const ops = Object.values(doc.paths)
      .flatMap((p) => Object.values(p))
      .map((o) => o.operationId);
    for (const id of [
      "listReviews",
      "createReview",
      "getReview",
      "updateReview",
      "listReviewComments",
      "createReviewComment",
      "setReviewVerdict",
      "addReviewRevision",
      "mergeReview",
    ])
      expect(ops).toContain(id);
  });
});

describe("reviews: post-push messages late or out of order", () => {
  it("records the branch as it is now, never an older head after a newer one", async () => {
    const first = await push("late", { ...base, "late.txt": "1\n" }, "Late 1", [tips.main!]);
    const n = await openReview("late", "main", "Late");
    const second = await push("late", { ...base, "late.txt": "2\n" }, "Late 2", undefined, false);
    const third = await push("late", { ...base, "late.txt": "3\n" }, "Late 3", undefined, false);
    // The third push's message comes first, then the second's.
    await recordPush(env, pushed("refs/heads/late", second, third));
    await recordPush(env, pushed("refs/heads/late", first, second));
    const db = await tenantD1(forge);
    const heads = (
      await db
        .prepare(
          "SELECT v.number, v.head_oid FROM review_revisions v JOIN reviews r ON r.id = v.review_id WHERE r.number = ? ORDER BY v.number",
        )
        .bind(n)
        .all<{ number: number; head_oid: string }>()
    ).results.map((r) => r.head_oid);
    // The forge's own queue consumer may also have seen the second push while it was the tip: either
    // way the revisions follow the order of the pushes and end at the tip.
    const order = [first, second, third];
    expect(heads[0]).toBe(first);
    expect(heads[heads.length - 1]).toBe(third);
    expect(heads.map((h) => order.indexOf(h))).toEqual([...heads.map((h) => order.indexOf(h))].sort());
    expect(new Set(heads).size).toBe(heads.length);
  });
});

// The forge's own post-push consumer gets every push too (the tests deliver each push themselves
// as well, with another time, so each push makes two timeline entries): the file ends once it
// has finished them all.
afterAll(drainPostPush);

describe("reviews: privacy, escaping, cross-site forms", () => {
  it("hides a private project's reviews (pages and API) from those who may not see it, like a missing project", async () => {
    expect(
      (await apiCall(forge.host, "POST", "/api/v1/projects", forge.ownerToken, { name: "hidden", private: true })).status,
    ).toBe(201);
    const anon = new Browser(forge.host);
    const stranger = await registerUser(forge, "stranger");
    for (const b of [anon, stranger]) {
      expect((await b.get("/p/hidden/reviews/")).status).toBe(404);
      expect((await b.get("/p/hidden/reviews/1")).status).toBe(404);
    }
    expect((await apiCall(forge.host, "GET", "/api/v1/projects/hidden/reviews")).status).toBe(404);
    // The owner sees the (empty) list; an unknown review is a 404 too.
    expect((await owner.get("/p/hidden/reviews/")).status).toBe(200);
    expect((await owner.get("/p/hidden/reviews/7")).status).toBe(404);
  });

  it("escapes titles, line text and comments; refuses a cross-site comment", async () => {
    await push("xss", { ...base, "src/app.txt": "<img src=x onerror=alert(1)>\n" }, "Markup in a file", [tips.main!]);
    const n = await openReview("xss", "main", "<script>alert(1)</script>");
    let res = await owner.post(`/p/code/reviews/${n}/comments`, {
      revision: "1",
      path: "src/app.txt",
      side: "new",
      line: "1",
      body: "<img src=y onerror=alert(2)> **bold**",
    });
    expect(res.status).toBe(303);
    const html = await page(n);
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toMatch(/<img[^>]*onerror/);
    expect(html).toContain("<strong>bold</strong>");
    res = await owner.post(
      `/p/code/reviews/${n}/comments`,
      { revision: "1", body: "from elsewhere" },
      { from: "http://evil.test" },
    );
    expect(res.status).toBe(403);
    expect(await page(n)).not.toContain("from elsewhere");
  });
});
