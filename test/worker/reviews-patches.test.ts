// Patch reviews in workerd: a series in git format-patch's form uploaded by a signed-in reader
// without push access is parsed (RFC 2047 author, folded subject, [PATCH n/m] stripped) and
// applied like git am (changed, new, deleted, renamed files and a mode change) as commits kept
// under a hidden ref that fetches do not see and pushes may not write; a patch that does not apply
// is refused naming it and its file, with nothing stored; the owner applies it by fast-forward;
// a new version is a revision; anonymous callers and other readers may not.
import { env as workerEnv } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { recordPush } from "../../src/services/post-push";
import { openStore, repoStub } from "../../src/services/repositories";
import { parseCommit } from "../../src/git/objects";
import { ZERO_OID, type Oid } from "../../src/git/oid";
import { FLUSH, pkt } from "../../src/git/pkt-line";
import { apiCall, Browser, newForge, ok, registerUser, tenantD1, webToken, type Forge } from "./browser";
import { edge, drainPostPush } from "./helpers";
import { RepoBuilder, pushRef, type FileMap } from "./git-fixture";

// No post-push delivery of this file's pushes may still run when its runtime closes.
afterAll(drainPostPush);

const env = workerEnv as unknown as Env;
const text = (b: ArrayBuffer) => new TextDecoder().decode(b);

let forge: Forge;
let owner: Browser;
let carol: Browser;
let carolToken: string;
let repoId: string;
let mainTip: Oid;
const repo = new RepoBuilder();

const base: FileMap = {
  "README.md": "hello\n",
  "src/app.txt": "one\ntwo\nthree\nfour\nfive\n",
  "docs/guide.txt": "guide\n",
  "old.txt": "keep me\n",
  "run.sh": "#!/bin/sh\necho hi\n",
};

const PATCH_1 = `From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
From: =?UTF-8?q?J=C3=BCrgen=20Contributor?= <jurgen@example.org>
Date: Tue, 3 Nov 2026 10:00:00 +0200
Subject: [PATCH 1/2] Shout two, add notes,
 drop the guide

The guide moved to the wiki.
---
 3 files changed

diff --git a/src/app.txt b/src/app.txt
index 1111111..2222222 100644
--- a/src/app.txt
+++ b/src/app.txt
@@ -1,4 +1,4 @@
 one
-two
+TWO
 three
 four
diff --git a/notes/new.txt b/notes/new.txt
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/notes/new.txt
@@ -0,0 +1,2 @@
+new
+notes
diff --git a/docs/guide.txt b/docs/guide.txt
deleted file mode 100644
index 4444444..0000000
--- a/docs/guide.txt
+++ /dev/null
@@ -1 +0,0 @@
-guide
-- 
2.39.5

`;

const PATCH_2 = `From 2222222222222222222222222222222222222222 Mon Sep 17 00:00:00 2001
From: Ada Lovelace <ada@example.com>
Date: Tue, 3 Nov 2026 11:00:00 +0000
Subject: [PATCH 2/2] Move old.txt, make run.sh executable

---
diff --git a/old.txt b/moved/kept.txt
similarity index 100%
rename from old.txt
rename to moved/kept.txt
diff --git a/run.sh b/run.sh
old mode 100644
new mode 100755
-- 
2.39.5

`;

/** Patch 1 made against a file that says "zwei": its context does not match. */
const STALE = PATCH_1.replace(" one\n-two\n+TWO", " one\n-zwei\n+TWO");

const refs = async () =>
  new Map((await repoStub(env, { tenantId: forge.id, repoId }).snapshot()).refs.map((r) => [r.name, r.oid]));

async function readCommit(oid: Oid) {
  const snapshot = await repoStub(env, { tenantId: forge.id, repoId }).snapshot();
  const store = await openStore(env.OBJECTS, { tenantId: forge.id, repoId }, snapshot);
  return parseCommit(await store.readTyped(oid, "commit"));
}

/** The series through the New review page's patch form (multipart, a file), as a browser sends it. */
function uploadForm(b: Browser, fields: Record<string, string>, series: string, path = "/p/code/reviews/new/patches") {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  form.set("series", new File([series], "series.mbox", { type: "text/plain" }));
  return b.fetch(path, { method: "POST", headers: { origin: b.origin, "sec-fetch-site": "same-origin" }, body: form });
}

const reviewCount = async () =>
  (await (await tenantD1(forge)).prepare("SELECT count(*) AS n FROM reviews").first<{ n: number }>())!.n;

/** The owner moves main from `old` to `next` with every object the builder has; the push must land. */
async function pushMain(old: Oid, next: Oid): Promise<void> {
  const res = await pushRef(forge.host, "code", forge.ownerToken, repo, [...repo.objects.keys()], "refs/heads/main", old, next);
  expect(text(await res.arrayBuffer())).toContain("ok refs/heads/main");
}

beforeAll(async () => {
  forge = await newForge("patches");
  await ok(await apiCall(forge.host, "POST", "/api/v1/projects", forge.ownerToken, { name: "code" }), 201);
  const db = await tenantD1(forge);
  repoId = (await db.prepare("SELECT repo_id FROM projects WHERE name = 'code'").first<{ repo_id: string }>())!.repo_id;
  owner = new Browser(forge.host);
  await owner.signIn("owner", forge.ownerPassword);
  mainTip = repo.commit({ files: base, message: "Initial commit" });
  await pushMain(ZERO_OID, mainTip);
  // A reader who may take part in reviews but not push.
  carol = await registerUser(forge, "carol");
  carolToken = await webToken(carol, "write");
}, 120_000);

describe("patch reviews", () => {
  let head: Oid;

  it("refuses a patch that does not apply, naming the patch and the file, and stores nothing", async () => {
    const before = await refs();
    const res = await uploadForm(carol, { patch_target: "main", patch_title: "" }, STALE + PATCH_2);
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain("Patch 1/2 (&quot;Shout two, add notes, drop the guide&quot;) does not apply to src/app.txt");
    expect(html).toContain("Nothing was opened.");
    expect(await reviewCount()).toBe(0);
    expect(await refs()).toEqual(before);
    // The API says the same, as JSON.
    const api = await apiCall(forge.host, "POST", "/api/v1/projects/code/reviews", carolToken, {
      patches: STALE,
      target: "main",
    });
    expect(api.status).toBe(400);
    expect(((await api.json()) as { error: { message: string } }).error.message).toContain("src/app.txt");
    expect(await refs()).toEqual(before);
  });

  it("refuses a binary patch and an anonymous upload; takes no push to refs/reviews/", async () => {
    const binary = PATCH_2.replace("old mode 100644", "index 1..2\nGIT binary patch\nliteral 3\nabc\n\nold mode 100644");
    let res = await apiCall(forge.host, "POST", "/api/v1/projects/code/reviews", carolToken, { patches: binary, target: "main" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("binary");
    res = await apiCall(forge.host, "POST", "/api/v1/projects/code/reviews", undefined, { patches: PATCH_1, target: "main" });
    expect(res.status).toBe(401);
    // A client's push (even the owner's, even claiming the forge's header) may not write there.
    const forged = await edge(`http://${forge.host}/code.git/git-receive-pack`, {
      method: "POST",
      headers: {
        "content-type": "application/x-git-receive-pack-request",
        authorization: `Basic ${btoa(`owner:${forge.ownerToken}`)}`,
        "x-forge-hidden-refs": "write",
      },
      body: new Uint8Array([...pkt(`${ZERO_OID} ${mainTip} refs/reviews/patches/x\0report-status\n`), ...FLUSH]),
    });
    expect(text(await forged.arrayBuffer())).toContain("ng refs/reviews/patches/x refs/reviews/ is the forge's own");
    expect([...(await refs()).keys()].some((r) => r.startsWith("refs/reviews/"))).toBe(false);
    // Over the size cap: 413 before anything is parsed.
    const big = `${PATCH_1}${"x".repeat(1024 * 1024)}`;
    res = await uploadForm(carol, { patch_target: "main" }, big);
    expect(res.status).toBe(413);
    expect(await reviewCount()).toBe(0);
  });

  it("opens a review from a reader's series, applied like git am, kept under a hidden ref", async () => {
    const res = await uploadForm(carol, { patch_target: "main", patch_title: "" }, PATCH_1 + PATCH_2);
    expect(res.status, await res.clone().text()).toBe(303);
    const n = Number(/reviews\/(\d+)/.exec(res.headers.get("location")!)![1]);
    const detail = await ok<{
      kind: string;
      title: string;
      description: string;
      source_branch: null;
      revisions: { head: Oid; base: Oid }[];
    }>(await apiCall(forge.host, "GET", `/api/v1/projects/code/reviews/${n}`, forge.ownerToken));
    expect(detail).toMatchObject({ kind: "patches", title: "Shout two, add notes, drop the guide", source_branch: null });
    head = detail.revisions[0]!.head;
    expect(detail.revisions[0]!.base).toBe(mainTip);
    expect((await refs()).get(`refs/reviews/patches/${head}`)).toBe(head);
    // The tree git am would make, and each patch's author, date and message.
    const second = await readCommit(head);
    const expected = new RepoBuilder().files({
      "README.md": "hello\n",
      "src/app.txt": "one\nTWO\nthree\nfour\nfive\n",
      "notes/new.txt": "new\nnotes\n",
      "moved/kept.txt": "keep me\n",
      "run.sh": { data: "#!/bin/sh\necho hi\n", mode: "100755" },
    });
    expect(second.tree).toBe(expected);
    expect(second.author).toMatchObject({ name: "Ada Lovelace", email: "ada@example.com", tz: "+0000" });
    expect(second.committer).toMatchObject({ name: "carol", email: "carol@example.com" });
    const first = await readCommit(second.parents[0]!);
    expect(first.parents).toEqual([mainTip]);
    expect(first.author).toMatchObject({
      name: "Jürgen Contributor",
      email: "jurgen@example.org",
      time: Date.parse("2026-11-03T08:00:00Z") / 1000,
      tz: "+0200",
    });
    expect(first.message).toBe("Shout two, add notes, drop the guide\n\nThe guide moved to the wiki.\n");
    // The page: from patches, their authors, the diff.
    const html = await (await owner.get(`/p/code/reviews/${n}`)).text();
    expect(html).toContain("asks to apply a series of 2 patches (uploaded) to");
    expect(html).toContain("Jürgen Contributor");
    expect(html).toContain("+TWO");
    expect(html).toContain("Apply to main");
    // Fetches never see the hidden ref: not in the v0 advertisement, not in v2's ls-refs.
    const adv = text(await (await edge(`http://${forge.host}/code.git/info/refs?service=git-upload-pack`)).arrayBuffer());
    expect(adv).toContain("refs/heads/main");
    expect(adv).not.toContain("refs/reviews/");
    const ls = await edge(`http://${forge.host}/code.git/git-upload-pack`, {
      method: "POST",
      headers: { "content-type": "application/x-git-upload-pack-request", "git-protocol": "version=2" },
      body: new Uint8Array([...pkt("command=ls-refs\n"), ...FLUSH]),
    });
    const listed = text(await ls.arrayBuffer());
    expect(listed).toContain("refs/heads/main");
    expect(listed).not.toContain("refs/reviews/");
    // A reader does not apply it; the owner does, by fast-forward (the base is main's tip).
    expect((await carol.post(`/p/code/reviews/${n}/merge`, {})).status).toBe(403);
    const merged = await ok<{ kind: string; oid: Oid }>(
      await apiCall(forge.host, "POST", `/api/v1/projects/code/reviews/${n}/merge`, forge.ownerToken),
    );
    expect(merged).toEqual({ kind: "fast-forward", oid: head });
    expect((await refs()).get("refs/heads/main")).toBe(head);
  });

  it("takes a new version as the next revision, from the author only", async () => {
    const third = `From 3333333333333333333333333333333333333333 Mon Sep 17 00:00:00 2001
From: Carol <carol@example.com>
Date: Wed, 4 Nov 2026 09:00:00 -0500
Subject: [PATCH] Five is loud

---
diff --git a/src/app.txt b/src/app.txt
--- a/src/app.txt
+++ b/src/app.txt
@@ -3,3 +3,3 @@
 three
 four
-five
+FIVE
-- 
2.39.5
`;
    const opened = await ok<{ number: number }>(
      await apiCall(forge.host, "POST", "/api/v1/projects/code/reviews", carolToken, { patches: third, target: "main" }),
      201,
    );
    const version2 = third.replace("+FIVE", "+Five!");
    // Someone else (signed in, may review, may not push, not the author) may not replace it.
    const dave = await registerUser(forge, "dave");
    const daveToken = await webToken(dave, "write");
    let res = await apiCall(forge.host, "POST", `/api/v1/projects/code/reviews/${opened.number}/revisions`, daveToken, {
      patches: version2,
    });
    expect(res.status).toBe(403);
    res = await apiCall(forge.host, "POST", `/api/v1/projects/code/reviews/${opened.number}/revisions`, carolToken, {
      patches: version2,
    });
    const detail = await ok<{ revisions: { number: number; head: Oid; base: Oid }[] }>(res, 201);
    expect(detail.revisions.map((r) => r.number)).toEqual([1, 2]);
    expect(detail.revisions[1]!.base).toBe(head);
    const page = await (await owner.get(`/p/code/reviews/${opened.number}?rev=2`)).text();
    expect(page).toContain("+Five!");
    // Both revisions stay in the repository.
    const all = await refs();
    for (const r of detail.revisions) expect(all.get(`refs/reviews/patches/${r.head}`)).toBe(r.head);
    // The forge's push of a series is on nobody's timeline (the post-push consumer skips hidden refs).
    await recordPush(env, {
      tenantId: forge.id,
      repoId,
      pusher: "carol",
      updates: [{ name: `refs/reviews/patches/${detail.revisions[1]!.head}`, old: ZERO_OID, new: detail.revisions[1]!.head }],
      at: new Date().toISOString(),
    });
    const pushes = await (await tenantD1(forge)).prepare("SELECT title FROM events WHERE kind = 'push'").all<{ title: string }>();
    expect(pushes.results.map((e) => e.title).join("\n")).not.toContain("refs/reviews");
    // main moved meanwhile (README): applying is then a merge commit of both.
    const moved = repo.commit({
      files: {
        "README.md": "hello again\n",
        "src/app.txt": "one\nTWO\nthree\nfour\nfive\n",
        "notes/new.txt": "new\nnotes\n",
        "moved/kept.txt": "keep me\n",
        "run.sh": { data: "#!/bin/sh\necho hi\n", mode: "100755" },
      },
      parents: [head],
      message: "Elsewhere",
    });
    await pushMain(head, moved);
    const merged = await ok<{ kind: string; oid: Oid }>(
      await apiCall(forge.host, "POST", `/api/v1/projects/code/reviews/${opened.number}/merge`, forge.ownerToken),
    );
    expect(merged.kind).toBe("merge");
    const commit = await readCommit(merged.oid);
    expect(commit.parents).toEqual([moved, detail.revisions[1]!.head]);
    expect(commit.message).toContain("Apply the patch series of review #2 to main");
  });
});
