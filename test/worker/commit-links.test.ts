// Commit links in workerd: pushes through the edge's receive-pack, then the post-push consumer's
// own function run on the push that landed (twice: queues deliver at least once). Messages that say
// "Fixes #1" close with a comment linking the commit; "refs" comments only; refused pushes and
// commits pushed before touch nothing again.
import { env as workerEnv } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { recordPush } from "../../src/services/post-push";
import { newCommits } from "../../src/services/commit-links";
import { openStore, repoStub } from "../../src/services/repositories";
import { ZERO_OID } from "../../src/git/oid";
import type { PushedEvent } from "../../src/services/push-events";
import { apiCall, newForge, tenantD1, type Forge } from "./browser";
import { pushMessages } from "./issue-fixture";
import { drainPostPush } from "./helpers";

// No post-push delivery of this file's pushes may still run when its runtime closes.
afterAll(drainPostPush);

const env = workerEnv as unknown as Env;

let forge: Forge;
let repoId: string;
const owner = () => ({ username: "owner", token: forge.ownerToken });

interface IssueJson {
  number: number;
  state: string;
  status: string;
  comments: number;
}
interface CommentJson {
  body: string;
  changes: { status?: [string, string] };
  user: { login: string } | null;
}

const issue = async (n: number) =>
  (await (await apiCall(forge.host, "GET", `/api/v1/projects/code/issues/${n}`)).json()) as IssueJson;
const comments = async (n: number) =>
  (await (await apiCall(forge.host, "GET", `/api/v1/projects/code/issues/${n}/comments?limit=100`)).json()) as CommentJson[];

const event = (updates: PushedEvent["updates"]): PushedEvent => ({
  tenantId: forge.id,
  repoId,
  pusher: "owner",
  updates,
  at: new Date().toISOString(),
});

beforeAll(async () => {
  forge = await newForge("links");
  expect((await apiCall(forge.host, "POST", "/api/v1/projects", forge.ownerToken, { name: "code" })).status).toBe(201);
  for (const title of ["Crash on start", "Slow search", "Docs are thin", "Logo is blurry"]) {
    expect((await apiCall(forge.host, "POST", "/api/v1/projects/code/issues", forge.ownerToken, { title })).status).toBe(201);
  }
  const db = await tenantD1(forge);
  repoId = (await db.prepare("SELECT repo_id FROM projects WHERE name = 'code'").first<{ repo_id: string }>())!.repo_id;
}, 120_000);

describe("commit links", () => {
  let tip: string;

  it("closes issues a pushed commit fixes, with a comment linking the commit; refs only comments; twice is once", async () => {
    const base = await pushMessages(forge.host, "code", owner(), ["Initial commit"]);
    expect(base.report).toContain("ok refs/heads/main");
    const pushed = await pushMessages(
      forge.host,
      "code",
      owner(),
      ["Fix the crash\n\nFixes #1, closes issue 2 and refs #3.\nSee #99 (no such issue)."],
      {
        from: base.tip,
      },
    );
    expect(pushed.report).toContain("ok refs/heads/main");
    tip = pushed.tip;
    const e = event([{ name: "refs/heads/main", old: base.tip, new: tip }]);
    await recordPush(env, e);
    await recordPush(env, e); // delivered again

    for (const n of [1, 2]) {
      expect(await issue(n)).toMatchObject({ state: "closed", status: "Fixed" });
      const linked = (await comments(n)).filter((c) => c.body.includes(tip));
      expect(linked).toHaveLength(1);
      expect(linked[0]!.body).toContain(`[${tip.slice(0, 10)}](/p/code/source/commit/${tip})`);
      expect(linked[0]!.body).toContain("fixes this issue");
      expect(linked[0]!).toMatchObject({ changes: { status: ["New", "Fixed"] }, user: { login: "owner" } });
    }
    expect(await issue(3)).toMatchObject({ state: "open", status: "New" });
    const three = (await comments(3)).filter((c) => c.body.includes(tip));
    expect(three).toHaveLength(1);
    expect(three[0]!.body).toContain("refers to this issue");
    expect(three[0]!.changes).toEqual({});
    expect(await comments(4)).toHaveLength(0);
    // The issue page links the commit.
    const page = await (await edge(`/p/code/issues/1`)).text();
    expect(page).toContain(`href="/p/code/source/commit/${tip}"`);
  });

  it("does not close again an issue reopened since, when the same push is seen again", async () => {
    expect(
      (await apiCall(forge.host, "PATCH", "/api/v1/projects/code/issues/1", forge.ownerToken, { state: "open" })).status,
    ).toBe(200);
    await recordPush(env, event([{ name: "refs/heads/main", old: ZERO_OID, new: tip }]));
    expect(await issue(1)).toMatchObject({ state: "open" });
    expect((await comments(1)).filter((c) => c.body.includes(tip))).toHaveLength(1);
  });

  it("leaves issues alone when a push is refused, and reads only the commits a push adds", async () => {
    // Refused: the old value is stale, so nothing lands (and nothing is queued).
    const refused = await pushMessages(forge.host, "code", owner(), ["Fixes #4 for real"], { from: tip, old: "1".repeat(40) });
    expect(refused.report).toMatch(/ng refs\/heads\/main/);
    const next = await pushMessages(forge.host, "code", owner(), ["Tidy up\n\nrefs #2"], { from: tip });
    expect(next.report).toContain("ok refs/heads/main");
    await recordPush(env, event([{ name: "refs/heads/main", old: tip, new: next.tip }]));
    expect(await issue(4)).toMatchObject({ state: "open" });
    expect(await comments(4)).toHaveLength(0);
    expect((await comments(2)).filter((c) => c.body.includes(next.tip))).toHaveLength(1);
    // A new branch off main: only its own commit is new.
    const feature = await pushMessages(forge.host, "code", owner(), ["Feature work, refs #3"], {
      from: next.tip,
      ref: "refs/heads/feature",
      old: ZERO_OID,
    });
    expect(feature.report).toContain("ok refs/heads/feature");
    const repo = { tenantId: forge.id, repoId };
    const store = await openStore(env.OBJECTS, repo, await repoStub(env, repo).snapshot());
    expect((await newCommits(store, [feature.tip], [next.tip])).map((c) => c.oid)).toEqual([feature.tip]);
    expect((await newCommits(store, [next.tip], [])).map((c) => c.oid)).toHaveLength(3);
    // The starting commits (every known branch tip: 700 on git/git's shape) are read side by side,
    // not one after another; the answer is the same.
    const history = (await newCommits(store, [feature.tip], [])).map((c) => c.oid);
    let reading = 0;
    let most = 0;
    const counted = new Proxy(store, {
      get(target, prop) {
        if (prop !== "read") {
          const value = Reflect.get(target, prop);
          return typeof value === "function" ? value.bind(target) : value;
        }
        return async (oid: string) => {
          most = Math.max(most, ++reading);
          try {
            return await target.read(oid);
          } finally {
            reading--;
          }
        };
      },
    });
    expect((await newCommits(counted, [feature.tip], history.slice(1))).map((c) => c.oid)).toEqual([feature.tip]);
    expect(history.length).toBeGreaterThan(2);
    expect(most).toBe(history.length);
    await recordPush(env, event([{ name: "refs/heads/feature", old: ZERO_OID, new: feature.tip }]));
    const three = await comments(3);
    expect(three.filter((c) => c.body.includes(feature.tip))).toHaveLength(1);
    expect(three.filter((c) => c.body.includes(tip))).toHaveLength(1);
    expect(three[three.length - 1]!.body).toContain("on feature");
  });
});

function edge(path: string) {
  return apiCall(forge.host, "GET", path);
}
