// Mail notifications in workerd: things happen through the REST API and the web forms, then the
// FORGE_EVENTS consumer runs on the new events with a MAIL binding that records what it is asked
// to send. Who gets mail (watchers, reporter; never the actor; only readers of private projects),
// threading headers, escaping, one-click unsubscribe without a session, preferences, the digest
// of a push that closes many issues, a redelivered event that mails nobody twice, and reviews
// (their author, reviewers and commenters; threaded per review).
import { env as workerEnv } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { openTenantDb } from "../../src/db/tenant-db";
import { handleEventBatch } from "../../src/services/events/consumer";
import type { EventMessage } from "../../src/services/events/fanout";
import { mintToken } from "../../src/services/tokens";
import { findUserByName } from "../../src/services/users";
import { insertComment, insertReview, setStatus, setVerdict, type Actor, type Review } from "../../src/services/reviews";
import { Browser, apiCall, newForge, registerUser, tenantD1, type Forge } from "./browser";
import { pushMessages } from "./issue-fixture";
import { drainPostPush } from "./helpers";

// No post-push delivery of this file's pushes may still run when its runtime closes.
afterAll(drainPostPush);

const env = workerEnv as unknown as Env;

interface Sent {
  to: string;
  subject: string;
  text: string;
  html?: string;
  headers?: Record<string, string>;
}

/** The MAIL binding: keeps every message it is asked to send. */
const mail = {
  sent: [] as Sent[],
  /** Addresses whose sending fails (a mail service refusing for a while). */
  failing: new Set<string>(),
  async send(m: Sent) {
    if (this.failing.has(m.to)) throw new Error(`mail service refused ${m.to}`);
    this.sent.push(structuredClone(m));
  },
  take(): Sent[] {
    return this.sent.splice(0);
  },
};
const mailEnv = { ...env, MAIL: mail, MAIL_FROM: "forge@example.org" } as Env;

let forge: Forge;
let owner: Browser;
const tokens: Record<string, string> = {};
let lastEvent = 0;

const addr = (u: string) => `${u}@example.com`;

async function sql<T>(query: string, ...args: unknown[]): Promise<T[]> {
  return (
    await (
      await tenantD1(forge)
    )
      .prepare(query)
      .bind(...args)
      .all<T>()
  ).results;
}

/** Runs the event consumer, as the queue would, on every event since the last call. */
async function deliverNew(): Promise<number[]> {
  const ids = (await sql<{ id: number }>("SELECT id FROM events WHERE id > ? ORDER BY id", lastEvent)).map((r) => r.id);
  if (ids.length) lastEvent = ids[ids.length - 1]!;
  await deliver(ids);
  return ids;
}

async function deliver(ids: number[], expectRetries = 0): Promise<void> {
  let retried = 0;
  const batch = {
    queue: "edgeforge-events",
    messages: ids.map((eventId, i) => ({
      id: String(i),
      timestamp: new Date(),
      attempts: 1,
      body: { tenantId: forge.id, eventId },
      ack: () => undefined,
      retry: () => void retried++,
    })),
    ackAll: () => undefined,
    retryAll: () => undefined,
  } as unknown as MessageBatch<EventMessage>;
  await handleEventBatch(batch, mailEnv);
  expect(retried).toBe(expectRetries);
}

const byRecipient = (sent: Sent[]) => Object.fromEntries(sent.map((m) => [m.to, m]));

async function api(user: string, method: string, path: string, body?: unknown) {
  const res = await apiCall(forge.host, method, path, tokens[user], body);
  expect(res.status, `${method} ${path}: ${await res.clone().text()}`).toBeLessThan(300);
  return res;
}

beforeAll(async () => {
  forge = await newForge("notify");
  owner = new Browser(forge.host);
  await owner.signIn("owner", forge.ownerPassword);
  tokens.owner = forge.ownerToken;
  const db = openTenantDb(await tenantD1(forge));
  for (const u of ["alice", "bob", "carol", "dave", "eve"]) {
    await registerUser(forge, u);
    // Confirmed addresses only get notifications.
    await sql("UPDATE users SET email_confirmed_at = '2026-01-01T00:00:00.000Z' WHERE username_key = ?", u);
    tokens[u] = (await mintToken(db, (await findUserByName(db, u))!, "test", "write")).token;
  }
  await api("owner", "POST", "/api/v1/projects", { name: "pub" });
  await api("owner", "POST", "/api/v1/projects", { name: "priv", private: true });
  expect((await owner.post("/p/priv/admin/members", { username: "dave", role: "member" })).status).toBe(303);
  await deliverNew();
  mail.take();
}, 120_000);

/** A user's browser, signed in. */
async function browserOf(user: string): Promise<Browser> {
  const b = new Browser(forge.host);
  await b.signIn(user, "user-password-1");
  return b;
}

describe("issue notifications", () => {
  let issueId: number;

  it("mails watchers and the reporter, never the actor, with the thread's headers and escaped HTML", async () => {
    const carol = await browserOf("carol");
    expect((await carol.post("/p/pub/watch", { watch: "1" })).status).toBe(303);
    expect(await (await carol.get("/p/pub/")).text()).toContain("Stop watching");

    await api("alice", "POST", "/api/v1/projects/pub/issues", {
      title: `Crash <b>bold</b> & "quoted"`,
      body: "It <script>x</script> crashes",
    });
    await deliverNew();
    const opened = byRecipient(mail.take());
    // alice filed it (and watches it): told nothing; carol watches the project.
    expect(Object.keys(opened)).toEqual([addr("carol")]);
    issueId = (await sql<{ id: number }>("SELECT id FROM issues WHERE summary LIKE 'Crash%'"))[0]!.id;
    const thread = `<issue-${issueId}.${forge.id}@${forge.host}>`;
    const first = opened[addr("carol")]!;
    expect(first.subject).toBe(`[Forge ${forge.slug}] [pub] Issue #1: Crash <b>bold</b> & "quoted"`);
    expect(first.headers?.["In-Reply-To"]).toBeUndefined();
    expect(first.html).toContain("Crash &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;");
    expect(first.html).toContain("It &lt;script&gt;x&lt;/script&gt; crashes");
    expect(first.html).not.toMatch(/<script|<b>/);
    expect(first.text).toContain(`View it: https://${forge.host}/p/pub/issues/1`);
    // The Email Service sets Message-ID itself; ours is kept in the outbox.
    const stored = await sql<{ headers: string }>(
      "SELECT headers FROM outbox WHERE to_address = ? AND key LIKE 'event:%'",
      addr("carol"),
    );
    expect(JSON.parse(stored[0]!.headers)["Message-ID"]).toBe(thread);

    await api("bob", "POST", "/api/v1/projects/pub/issues/1/comments", { body: "Same here" });
    await deliverNew();
    const commented = byRecipient(mail.take());
    expect(Object.keys(commented).sort()).toEqual([addr("alice"), addr("carol")]);
    const reply = commented[addr("alice")]!;
    expect(reply.subject).toBe(`[Forge ${forge.slug}] Re: [pub] Issue #1: Crash <b>bold</b> & "quoted"`);
    expect(reply.headers).toMatchObject({
      "In-Reply-To": thread,
      References: thread,
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    });
    expect(reply.headers?.["List-Unsubscribe"]).toMatch(new RegExp(`^<https://${forge.host}/unsubscribe/[\\w-]+\\.[\\w-]+>$`));
    const comment = (await sql<{ id: number }>("SELECT id FROM issue_comments WHERE body = 'Same here'"))[0]!.id;
    expect(reply.text).toContain(`https://${forge.host}/p/pub/issues/1#c${comment}`);
    expect(reply.text).toContain("> Same here");
  });

  it("mails only readers of a private project, whatever they watch", async () => {
    const dave = await browserOf("dave");
    expect((await dave.post("/p/priv/watch", { watch: "1" })).status).toBe(303);
    const eve = await browserOf("eve");
    // eve may not see the project: no watch button, no watch.
    expect((await eve.post("/p/priv/watch", { watch: "1" })).status).toBe(404);
    // A watch from before the project turned private (or a member removed since) stays in the table.
    const projectId = (await sql<{ id: number }>("SELECT id FROM projects WHERE name = 'priv'"))[0]!.id;
    const eveId = (await sql<{ id: number }>("SELECT id FROM users WHERE username_key = 'eve'"))[0]!.id;
    await sql("INSERT INTO watches (user_id, project_id, kind, target_id) VALUES (?, ?, 'project', 0)", eveId, projectId);
    await api("owner", "POST", "/api/v1/projects/priv/issues", { title: "Secret plan" });
    await deliverNew();
    expect(mail.take().map((m) => m.to)).toEqual([addr("dave")]);
  });

  it("a redelivered event mails nobody twice", async () => {
    await api("bob", "POST", "/api/v1/projects/pub/issues/1/comments", { body: "Any news?" });
    const ids = await deliverNew();
    const first = mail.take();
    expect(first.length).toBe(2);
    const rows = await sql<{ n: number }>("SELECT count(*) AS n FROM outbox");
    await deliver(ids);
    await deliver(ids);
    expect(mail.take()).toEqual([]);
    expect(await sql<{ n: number }>("SELECT count(*) AS n FROM outbox")).toEqual(rows);
  });

  it("a send that fails retries the event, which then sends only what was not sent", async () => {
    mail.failing.add(addr("carol"));
    await api("bob", "POST", "/api/v1/projects/pub/issues/1/comments", { body: "Flaky mail" });
    const ids = (await sql<{ id: number }>("SELECT id FROM events WHERE id > ? ORDER BY id", lastEvent)).map((r) => r.id);
    lastEvent = ids[ids.length - 1]!;
    await deliver(ids, 1);
    expect(mail.take().map((m) => m.to)).toEqual([addr("alice")]);
    mail.failing.clear();
    await deliver(ids);
    expect(mail.take().map((m) => m.to)).toEqual([addr("carol")]);
  });
});

describe("project notification addresses", () => {
  it("owners set them; each gets the area's mail and can unsubscribe itself; a bad address is refused", async () => {
    const bad = await owner.post("/p/pub/admin/notifications", { issue: "dev@lists.example.org\nnot an address" });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("not is not an email address");
    expect(await sql("SELECT * FROM project_notify_addresses")).toEqual([]);
    expect(
      (await owner.post("/p/pub/admin/notifications", { issue: "dev@lists.example.org", push: "", wiki: "", download: "" }))
        .status,
    ).toBe(303);
    await api("bob", "POST", "/api/v1/projects/pub/issues/1/comments", { body: "To the list" });
    await deliverNew();
    const list = mail.take().find((m) => m.to === "dev@lists.example.org")!;
    expect(list.text).toContain("This address is on the issue notification list of pub.");
    const path = new URL(/^<(.*)>$/.exec(list.headers!["List-Unsubscribe"]!)![1]!).pathname;
    const res = await new Browser(forge.host).fetch(path, { method: "POST", body: "List-Unsubscribe=One-Click" });
    expect(res.status).toBe(200);
    expect(await sql("SELECT * FROM project_notify_addresses")).toEqual([]);
  });
});

describe("unsubscribing and preferences", () => {
  it("GET asks, one-click POST without a session unsubscribes; a forged link is a 404", async () => {
    await api("bob", "POST", "/api/v1/projects/pub/issues/1/comments", { body: "Ping" });
    await deliverNew();
    const alices = mail.take().find((m) => m.to === addr("alice"))!;
    const url = new URL(/^<(.*)>$/.exec(alices.headers!["List-Unsubscribe"]!)![1]!);
    const anon = new Browser(forge.host);
    const ask = await anon.get(url.pathname);
    expect(ask.status).toBe(200);
    expect(await ask.text()).toContain("Stop mail about issues from this forge?");
    expect(await sql("SELECT * FROM notification_prefs")).toEqual([]);
    const forged = `${url.pathname.slice(0, -3)}AAA`;
    expect((await anon.get(forged)).status).toBe(404);
    // What a mail provider sends (RFC 8058): no cookie, no Origin.
    const res = await anon.fetch(url.pathname, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "List-Unsubscribe=One-Click",
    });
    expect(res.status).toBe(200);
    expect(await sql("SELECT issue, push, wiki, enabled FROM notification_prefs")).toEqual([
      { issue: 0, push: 1, wiki: 1, enabled: 1 },
    ]);

    await api("bob", "POST", "/api/v1/projects/pub/issues/1/comments", { body: "Still there?" });
    await deliverNew();
    expect(mail.take().map((m) => m.to)).toEqual([addr("carol")]);
  });

  it("the settings page turns off kinds of mail, or all of it", async () => {
    const eve = await browserOf("eve");
    expect((await eve.post("/p/pub/watch", { watch: "1" })).status).toBe(303);
    const carol = await browserOf("carol");
    expect((await carol.post("/account/notifications", { enabled: "1", issue: "1", push: "1", download: "1" })).status).toBe(303);
    expect(await (await carol.get("/account/notifications")).text()).toMatch(/name="wiki" value="1"\s*\/?>/);

    await api("owner", "POST", "/api/v1/projects/pub/wiki/pages", { name: "Home", content: "Hello" });
    await deliverNew();
    expect(mail.take().map((m) => m.to)).toEqual([addr("eve")]);

    expect((await eve.post("/account/notifications", { issue: "1", push: "1", wiki: "1", download: "1" })).status).toBe(303);
    await api("owner", "PUT", "/api/v1/projects/pub/wiki/pages/Home", { content: "Hello again", base_revision: 1 });
    await deliverNew();
    expect(mail.take()).toEqual([]);
  });
});

describe("push digest", () => {
  it("one push closing three issues mails each recipient once, listing the issues they follow", async () => {
    for (const title of ["Second", "Third"]) await api("alice", "POST", "/api/v1/projects/pub/issues", { title });
    await api("carol", "POST", "/api/v1/projects/pub/issues", { title: "Fourth" });
    await deliverNew();
    mail.take();
    // alice hears of issues again (she turned them off by unsubscribing above).
    await sql("DELETE FROM notification_prefs");
    const auth = { username: "owner", token: forge.ownerToken };
    const base = await pushMessages(forge.host, "pub", auth, ["Initial commit"]);
    const pushed = await pushMessages(forge.host, "pub", auth, ["Fix them\n\nFixes #2, #3 and #4."], { from: base.tip });
    expect(pushed.report).toContain("ok refs/heads/main");
    // Both pushes' events come from the real post-push queue (as deployed): wait for the
    // second's timeline entry and its three issue changes, then run the event consumer on them.
    const landed = async () =>
      (
        await sql<{ n: number }>(
          "SELECT count(*) AS n FROM events WHERE title LIKE 'owner closed issue%' OR title = 'owner pushed to main'",
        )
      )[0]!.n;
    await expect.poll(landed, { timeout: 60_000, interval: 100 }).toBe(4);
    const ids = await deliverNew();
    const kinds = await sql<{ id: number; kind: string; payload: string }>(
      `SELECT id, kind, payload FROM events WHERE id IN (${ids.join(",")}) AND title <> 'owner created branch main' ORDER BY id`,
    );
    expect(kinds.map((k) => k.kind)).toEqual(["push", "issue", "issue", "issue"]);
    expect(JSON.parse(kinds[0]!.payload).issues.map((i: { number: number }) => i.number)).toEqual([2, 3, 4]);
    expect(kinds.slice(1).map((k) => JSON.parse(k.payload).digest)).toEqual([true, true, true]);
    // The first push's own mail (a new branch) is not the digest.
    const sent = byRecipient(mail.take().filter((m) => m.subject.includes("owner pushed to main")));
    // carol and eve watch the project: the push and every issue; alice filed #2 and #3; carol #4.
    expect(Object.keys(sent).sort()).toEqual([addr("alice"), addr("carol"), addr("eve")].sort());
    expect(sent[addr("alice")]!.text).toMatch(/#2 Second[\s\S]*#3 Third/);
    expect(sent[addr("alice")]!.text).not.toContain("#4 Fourth");
    for (const who of ["carol", "eve"]) expect(sent[addr(who)]!.text).toMatch(/#2 Second[\s\S]*#3 Third[\s\S]*#4 Fourth/);
    // The issue events themselves mailed nothing.
    const perEvent = await sql<{ key: string }>("SELECT key FROM outbox WHERE key LIKE 'event:%'");
    for (const { id } of kinds.slice(1)) expect(perEvent.filter((r) => r.key.startsWith(`event:${id}:`))).toEqual([]);
  });
});

describe("many watchers", () => {
  it("mails 150 watchers of a project (queries and inserts stay within the database's bound parameters)", async () => {
    await api("owner", "POST", "/api/v1/projects", { name: "busy" });
    const projectId = (await sql<{ id: number }>("SELECT id FROM projects WHERE name = 'busy'"))[0]!.id;
    const d1 = await tenantD1(forge);
    const names = Array.from({ length: 150 }, (_, i) => `fan${i}`);
    await d1.batch(
      names.map((n) =>
        d1
          .prepare(
            "INSERT INTO users (username, username_key, email, email_confirmed_at) VALUES (?, ?, ?, '2026-01-01T00:00:00.000Z')",
          )
          .bind(n, n, addr(n)),
      ),
    );
    await d1
      .prepare("INSERT INTO watches (user_id, project_id, kind) SELECT id, ?, 'project' FROM users WHERE username LIKE 'fan%'")
      .bind(projectId)
      .run();
    await deliverNew();
    mail.take();
    await api("owner", "POST", "/api/v1/projects/busy/issues", { title: "Everyone look" });
    await deliverNew();
    // Only this project's mail (another test's push may still be landing through the real queue).
    const sent = mail.take().filter((m) => m.subject.includes("[busy]"));
    expect(sent.map((m) => m.to).sort()).toEqual(names.map(addr).sort());
  });
});

describe("watch list", () => {
  it("lists the projects and wiki pages a user watches, and is linked from the header", async () => {
    const eve = await browserOf("eve");
    expect((await eve.post("/p/pub/wiki/Home/watch", { watch: "1" })).status).toBe(303);
    const page = await (await eve.get("/watchlist")).text();
    expect(page).toContain('href="/watchlist"');
    expect(page).toContain('href="/p/pub/"');
    expect(page).toContain('href="/p/pub/wiki/Home"');
    // The private project she still has a watch row for is not listed.
    expect(page).not.toContain("/p/priv/");
  });

  it("a wiki page's watchers hear of its changes, besides the project's", async () => {
    const dave = await browserOf("dave");
    expect(await (await dave.get("/p/pub/wiki/Home")).text()).toContain('action="/p/pub/wiki/Home/watch"');
    expect((await dave.post("/p/pub/wiki/Home/watch", { watch: "1" })).status).toBe(303);
    await deliverNew();
    mail.take();
    await api("owner", "PUT", "/api/v1/projects/pub/wiki/pages/Home", { content: "Third text", base_revision: 2 });
    await deliverNew();
    const sent = mail.take().filter((m) => m.subject.includes("Wiki page Home"));
    // dave watches only the page; carol and eve the project (their preferences were reset above).
    expect(sent.map((m) => m.to).sort()).toEqual([addr("carol"), addr("dave"), addr("eve")]);
  });
});

describe("review notifications", () => {
  const oid = (c: string) => c.repeat(40);
  const row = {
    description: "Please <em>look</em>.",
    sourceBranch: "topic",
    targetBranch: "main",
    head: oid("b"),
    base: oid("a"),
  };
  let db: ReturnType<typeof openTenantDb>;
  const actors: Record<string, Actor> = {};
  const projectId = async (name: string) => (await sql<{ id: number }>("SELECT id FROM projects WHERE name = ?", name))[0]!.id;
  const outboxHeaders = async (eventId: number, to: string) =>
    JSON.parse(
      (await sql<{ headers: string }>("SELECT headers FROM outbox WHERE key = ?", `event:${eventId}:${to}`))[0]!.headers,
    ) as Record<string, string>;
  /** Delivers the new events and returns who got mail, and the one event's id. */
  async function sentFor(): Promise<{ to: string[]; mails: Record<string, Sent>; eventId: number }> {
    const ids = await deliverNew();
    expect(ids.length).toBe(1);
    const mails = byRecipient(mail.take());
    return { to: Object.keys(mails).sort(), mails, eventId: ids[0]! };
  }

  beforeAll(async () => {
    db = openTenantDb(await tenantD1(forge));
    for (const u of ["alice", "bob", "carol", "dave", "eve"]) actors[u] = (await findUserByName(db, u))!;
    // Preferences and project watches from the tests above do not matter here: a project of its own.
    await sql("DELETE FROM notification_prefs");
    await api("owner", "POST", "/api/v1/projects", { name: "rev" });
    await api("owner", "POST", "/api/v1/projects", { name: "privrev", private: true });
    expect((await owner.post("/p/privrev/admin/members", { username: "dave", role: "member" })).status).toBe(303);
    expect((await (await browserOf("bob")).post("/p/rev/watch", { watch: "1" })).status).toBe(303);
    await deliverNew();
    mail.take();
  });

  it("mails the author, reviewers, commenters and watchers, never the actor, threaded per review", async () => {
    const pid = await projectId("rev");
    const review: Review = await insertReview(db, pid, actors.alice!, { ...row, title: "Faster <b>diffs</b>" });
    const opened = await sentFor();
    // alice opened it: bob, who watches the project, hears of it.
    expect(opened.to).toEqual([addr("bob")]);
    const thread = `<review-${review.id}.${forge.id}@${forge.host}>`;
    const first = opened.mails[addr("bob")]!;
    expect(first.subject).toBe(`[Forge ${forge.slug}] [rev] Review 1: Faster <b>diffs</b>`);
    expect(first.headers?.["In-Reply-To"]).toBeUndefined();
    expect((await outboxHeaders(opened.eventId, addr("bob")))["Message-ID"]).toBe(thread);
    expect(first.text).toContain(`View it: https://${forge.host}/p/rev/reviews/1\n`);
    expect(first.text).toContain("> Please <em>look</em>.");
    expect(first.html).toContain("Faster &lt;b&gt;diffs&lt;/b&gt;");
    expect(first.html).not.toMatch(/<b>|<em>/);
    expect(first.text).toContain("or this review on");

    const commentId = await insertComment(db, pid, review, actors.carol!, 1, "Looks <i>fine</i>", null);
    const commented = await sentFor();
    // The author and the watcher; carol wrote it.
    expect(commented.to).toEqual([addr("alice"), addr("bob")]);
    const reply = commented.mails[addr("alice")]!;
    expect(reply.subject).toBe(`[Forge ${forge.slug}] Re: [rev] Review 1: Faster <b>diffs</b>`);
    expect(reply.headers).toMatchObject({ "In-Reply-To": thread, References: thread });
    expect((await outboxHeaders(commented.eventId, addr("alice")))["Message-ID"]).toBe(
      `<event-${commented.eventId}.${forge.id}@${forge.host}>`,
    );
    expect(reply.text).toContain(`https://${forge.host}/p/rev/reviews/1#c${commentId}`);
    expect(reply.text).toContain("> Looks <i>fine</i>");

    await setVerdict(db, pid, review, actors.dave!, "approve", 1);
    const verdict = await sentFor();
    // carol commented: she follows the review now; dave gave the verdict.
    expect(verdict.to).toEqual([addr("alice"), addr("bob"), addr("carol")]);
    expect(verdict.mails[addr("carol")]!.headers).toMatchObject({ "In-Reply-To": thread });
    expect(verdict.mails[addr("carol")]!.text).toContain("dave approved review 1");

    await setStatus(db, pid, review, actors.alice!, "accepted");
    const status = await sentFor();
    // dave gave a verdict: a reviewer hears of it too.
    expect(status.to).toEqual([addr("bob"), addr("carol"), addr("dave")]);
    expect(status.mails[addr("dave")]!.text).toContain("alice set review 1 to accepted");
  });

  it("the issue preference and the project's issue addresses govern review mail", async () => {
    const pid = await projectId("rev");
    const bobId = actors.bob!.id;
    await sql("INSERT INTO notification_prefs (user_id, enabled, issue, push, wiki, download) VALUES (?, 1, 0, 1, 1, 1)", bobId);
    expect(
      (await owner.post("/p/rev/admin/notifications", { issue: "rev@lists.example.org", push: "", wiki: "", download: "" }))
        .status,
    ).toBe(303);
    await deliverNew();
    mail.take();
    await insertReview(db, pid, actors.alice!, { ...row, title: "Second" });
    const sent = await sentFor();
    expect(sent.to).toEqual(["rev@lists.example.org"]);
    expect(sent.mails["rev@lists.example.org"]!.text).toContain("This address is on the issue notification list of rev.");
    await sql("DELETE FROM notification_prefs");
  });

  it("mails only those who may read the project's reviews", async () => {
    const pid = await projectId("privrev");
    // eve has a watch row (from before the project turned private) but may not read it; dave is a member.
    for (const u of ["dave", "eve"])
      await sql("INSERT INTO watches (user_id, project_id, kind, target_id) VALUES (?, ?, 'project', 0)", actors[u]!.id, pid);
    const review = await insertReview(db, pid, actors.dave!, { ...row, title: "Hidden" });
    expect((await sentFor()).to).toEqual([]);
    // eve cannot comment through the forge; a comment left from when she could leaves her unmailed.
    await insertComment(db, pid, review, actors.eve!, 1, "Old comment", null);
    await deliverNew();
    mail.take();
    await setStatus(db, pid, review, { id: 0, username: "owner" }, "closed");
    expect((await sentFor()).to).toEqual([addr("dave")]);
    // A public project whose review area is for members only: bob, a watcher but no member, is told nothing.
    await sql("UPDATE projects SET access_review = 'members' WHERE name = 'rev'");
    const rid = (await sql<{ id: number }>("SELECT id FROM reviews WHERE title = 'Faster <b>diffs</b>'"))[0]!.id;
    const first = (await db.query.reviews.findFirst({ where: (r, { eq }) => eq(r.id, rid) }))!;
    await insertComment(db, await projectId("rev"), first, actors.alice!, 1, "Members only now", null);
    // carol and dave (reviewers, not members) neither; the project's own list still is (its owners chose it).
    expect((await sentFor()).to).toEqual(["rev@lists.example.org"]);
    // Its page shows the diff, so the source area counts too.
    await sql("UPDATE projects SET access_review = 'all', access_source = 'members' WHERE name = 'rev'");
    await insertComment(db, await projectId("rev"), first, actors.alice!, 1, "Source for members", null);
    expect((await sentFor()).to).toEqual(["rev@lists.example.org"]);
    await sql("UPDATE projects SET access_source = 'all' WHERE name = 'rev'");
    await insertComment(db, await projectId("rev"), first, actors.alice!, 1, "Open again", null);
    expect((await sentFor()).to).toEqual(["rev@lists.example.org", addr("bob"), addr("carol"), addr("dave")].sort());
  });
});
