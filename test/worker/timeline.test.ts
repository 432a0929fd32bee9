// The project timeline in workerd: one stream of every kind of event, newest first, filtered by
// kind, paged by id, each entry a link to what it is about; its Atom feed (parsed as XML); feed
// tokens for private projects; entries of areas the viewer cannot read left out.
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { beforeAll, describe, expect, it } from "vitest";
import { Browser, apiCall, newForge, registerUser, tenantD1, type Forge } from "./browser";

let forge: Forge;
let owner: Browser;
let db: D1Database;

const OLD = "1".repeat(40);
const NEW = "2".repeat(40);
const ZERO = "0".repeat(40);

async function projectId(name: string): Promise<number> {
  const row = await db.prepare("SELECT id FROM projects WHERE name = ?").bind(name).first<{ id: number }>();
  return row!.id;
}

/** An event as the other areas record it (wiki, downloads) or the post-push consumer does. */
async function addEvent(project: string, kind: string, title: string, payload: unknown, at?: string): Promise<void> {
  await db
    .prepare(
      "INSERT INTO events (project_id, kind, actor, title, payload, created_at) VALUES (?, ?, 'owner', ?, ?, COALESCE(?, strftime('%Y-%m-%dT%H:%M:%fZ','now')))",
    )
    .bind(await projectId(project), kind, title, JSON.stringify(payload), at ?? null)
    .run();
}

/** The entries of a timeline page: [kind label, title, href]. */
function entries(page: string): { title: string; href: string | null }[] {
  const list = /<ol class="timeline">([\s\S]*?)<\/ol>/.exec(page)?.[1] ?? "";
  return [...list.matchAll(/<li[^>]*>([\s\S]*?)<\/li>/g)].map((m) => {
    const link = /<a href="([^"]*)">([^<]*)<\/a>/.exec(m[1]!);
    return link
      ? { href: link[1]!.replaceAll("&amp;", "&"), title: link[2]! }
      : { href: null, title: /<span>([^<]*)<\/span>/.exec(m[1]!)?.[1] ?? "" };
  });
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  isArray: (name) => name === "entry" || name === "link",
});

interface AtomLink {
  "@rel": string;
  "@href": string;
}
interface Atom {
  feed: {
    "@xmlns": string;
    id: string;
    title: string;
    updated: string;
    link: AtomLink[];
    entry?: { id: string; title: string; updated: string; link: AtomLink[]; author: { name: string } }[];
  };
}

/** Parses a feed, failing on anything that is not well-formed XML. */
function parseAtom(text: string): Atom {
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new Error(`not well-formed XML: ${JSON.stringify(valid.err)}`);
  return parser.parse(text) as Atom;
}

beforeAll(async () => {
  forge = await newForge("tl");
  db = await tenantD1(forge);
  owner = new Browser(forge.host);
  await owner.signIn("owner", forge.ownerPassword);
  expect((await owner.post("/projects/new", { name: "tl", description: "timeline test" })).status).toBe(303);
}, 120_000);

describe("the timeline page", () => {
  it("shows every kind of event newest first, each a link to what it is about", async () => {
    await addEvent("tl", "push", "owner created branch topic", { updates: [{ name: "refs/heads/topic", old: ZERO, new: NEW }] });
    await addEvent("tl", "push", "owner pushed to main", { updates: [{ name: "refs/heads/main", old: OLD, new: NEW }] });
    await addEvent("tl", "wiki", "owner edited Start Here", { page: "Start Here", revision: 3 });
    await addEvent("tl", "download", "owner uploaded tool-1.0.tar.gz", { name: "tool-1.0.tar.gz" });
    // Issue events are recorded by the tracker itself, filing and commenting alike.
    expect(
      (await apiCall(forge.host, "POST", "/api/v1/projects/tl/issues", forge.ownerToken, { title: "Crash <on> start" })).status,
    ).toBe(201);
    const commented = await apiCall(forge.host, "POST", "/api/v1/projects/tl/issues/1/comments", forge.ownerToken, {
      body: "seen it",
    });
    expect(commented.status).toBe(201);
    const comment = await db.prepare("SELECT MAX(id) AS id FROM issue_comments").first<{ id: number }>();

    const res = await owner.get("/p/tl/timeline");
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(entries(page)).toEqual([
      { title: "owner commented on issue 1: Crash &lt;on&gt; start", href: `/p/tl/issues/1#c${comment!.id}` },
      { title: "owner opened issue 1: Crash &lt;on&gt; start", href: "/p/tl/issues/1" },
      { title: "owner uploaded tool-1.0.tar.gz", href: "/p/tl/downloads/tool-1.0.tar.gz" },
      { title: "owner edited Start Here", href: "/p/tl/wiki/Start%20Here/revisions/3" },
      { title: "owner pushed to main", href: `/p/tl/source/compare/${OLD}...${NEW}` },
      { title: "owner created branch topic", href: "/p/tl/source/log/topic" },
    ]);
    // The page has its tab marked, an h1, and announces its feed.
    expect(page).toContain('<a href="/p/tl/timeline" aria-current="page">Timeline</a>');
    expect(page).toContain("<h1>Timeline</h1>");
    expect(page).toContain('<link rel="alternate" type="application/atom+xml" title="tl timeline" href="/p/tl/timeline.atom"/>');
  });

  it("filters by kind (?kind=a,b or repeated kind=, as its form sends), and refuses an unknown kind with 400", async () => {
    const two = entries(await (await owner.get("/p/tl/timeline?kind=wiki,download")).text());
    expect(two.map((e) => e.title)).toEqual(["owner uploaded tool-1.0.tar.gz", "owner edited Start Here"]);
    const form = entries(await (await owner.get("/p/tl/timeline?kind=push&kind=wiki")).text());
    expect(form.map((e) => e.title)).toEqual(["owner edited Start Here", "owner pushed to main", "owner created branch topic"]);
    const bad = await owner.get("/p/tl/timeline?kind=push,gossip");
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("There is no kind of event &quot;gossip&quot;");
    expect((await owner.get("/p/tl/timeline?before=abc")).status).toBe(400);
  });

  it("pages by id: 50 a page, an older link that keeps the filter, no entry twice or lost", async () => {
    expect((await owner.post("/projects/new", { name: "many", description: "" })).status).toBe(303);
    for (let i = 1; i <= 120; i++) await addEvent("many", i % 2 ? "push" : "wiki", `event ${i}`, { page: `P${i}` });
    const seen: string[] = [];
    let path: string | null = "/p/many/timeline?kind=wiki";
    let pages = 0;
    while (path) {
      const page: string = await (await owner.get(path)).text();
      const found = entries(page);
      expect(found.length).toBeLessThanOrEqual(50);
      seen.push(...found.map((e) => e.title));
      const older: string | null = /<a href="([^"]*)" rel="next">Older/.exec(page)?.[1]?.replaceAll("&amp;", "&") ?? null;
      if (older) expect(older).toMatch(/^\/p\/many\/timeline\?kind=wiki&before=\d+$/);
      path = older;
      pages++;
    }
    expect(pages).toBe(2);
    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => `event ${120 - 2 * i}`));
  });
});

describe("the timeline feed", () => {
  it("is valid Atom 1.0: escaped, with ids, updated times and links, for each filter", async () => {
    await addEvent("tl", "wiki", 'A & B <script>alert("x")</script>', { page: "A&B", revision: 1 });
    const res = await owner.get("/p/tl/timeline.atom?kind=wiki");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/atom+xml; charset=utf-8");
    const text = await res.text();
    expect(text).not.toContain("<script>");
    const { feed } = parseAtom(text);
    expect(feed["@xmlns"]).toBe("http://www.w3.org/2005/Atom");
    expect(feed.title).toContain("tl timeline (Wiki)");
    expect(feed.id).toMatch(/^tag:/);
    expect(feed.link.find((l) => l["@rel"] === "self")!["@href"]).toBe(`http://${forge.host}/p/tl/timeline.atom?kind=wiki`);
    expect(feed.link.find((l) => l["@rel"] === "alternate")!["@href"]).toBe(`http://${forge.host}/p/tl/timeline?kind=wiki`);
    const list = feed.entry!;
    expect(list.map((e) => e.title)).toEqual(['A & B <script>alert("x")</script>', "owner edited Start Here"]);
    expect(list[0]!.link[0]!["@href"]).toBe(`http://${forge.host}/p/tl/wiki/A%26B/revisions/1`);
    expect(new Set(list.map((e) => e.id)).size).toBe(2);
    for (const e of list) expect(Number.isNaN(Date.parse(e.updated))).toBe(false);
    expect(feed.updated).toBe(list[0]!.updated);
    expect(list[0]!.author.name).toBe("owner");
  });
});

describe("feeds of private projects and restricted areas", () => {
  let member: Browser;
  let stranger: Browser;
  let memberToken: string;

  async function feedToken(b: Browser): Promise<string> {
    const res = await b.post("/account/feed-token", {});
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    return /<p class="token">(eff_[A-Za-z0-9_-]+)<\/p>/.exec(await res.text())![1]!;
  }

  beforeAll(async () => {
    member = await registerUser(forge, "mona");
    stranger = await registerUser(forge, "stu");
    expect((await owner.post("/projects/new", { name: "hidden", description: "", private: "1" })).status).toBe(303);
    expect((await owner.post("/p/hidden/admin/members", { username: "mona", role: "member" })).status).toBe(303);
    await addEvent("hidden", "push", "owner pushed secret work", { updates: [] });
    memberToken = await feedToken(member);
  }, 120_000);

  it("shows the token page with a POST to reset, and GET makes no token", async () => {
    const page = await (await member.get("/account/feed-token")).text();
    expect(page).toContain('<form method="post" action="/account/feed-token" class="inline">');
    expect(page).toContain("Reset feed token");
    const fresh = await (await stranger.get("/account/feed-token")).text();
    expect(fresh).toContain("You have no feed token yet.");
    const rows = await db.prepare("SELECT token_hash FROM feed_tokens").all<{ token_hash: string }>();
    // Only hashes are stored, never the token.
    expect(rows.results.every((r) => /^[0-9a-f]{64}$/.test(r.token_hash) && r.token_hash !== memberToken)).toBe(true);
  });

  it("answers 404 without a token or with a wrong one, and the feed to a member's token", async () => {
    const anon = new Browser(forge.host);
    expect((await anon.get("/p/hidden/timeline.atom")).status).toBe(404);
    expect((await anon.get("/p/hidden/timeline.atom?token=eff_wrong")).status).toBe(404);
    expect((await anon.get("/p/hidden/timeline.atom?token=")).status).toBe(404);
    expect((await anon.get(`/p/hidden/timeline.atom?token=${await feedToken(stranger)}`)).status).toBe(404);
    const res = await anon.get(`/p/hidden/timeline.atom?token=${memberToken}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toContain("private");
    const { feed } = parseAtom(await res.text());
    expect(feed.entry!.map((e) => e.title)).toEqual(["owner pushed secret work"]);
    // The token never travels on in the feed's own links.
    expect(JSON.stringify(feed)).not.toContain(memberToken);
  });

  it("stops the old token when it is reset", async () => {
    const old = memberToken;
    memberToken = await feedToken(member);
    const anon = new Browser(forge.host);
    expect((await anon.get(`/p/hidden/timeline.atom?token=${old}`)).status).toBe(404);
    expect((await anon.get(`/p/hidden/timeline.atom?token=${memberToken}`)).status).toBe(200);
  });

  it("leaves out entries of areas the reader may not read, on the page, the feed and the home", async () => {
    expect((await owner.post("/projects/new", { name: "half", description: "" })).status).toBe(303);
    expect((await owner.post("/p/half/admin/members", { username: "mona", role: "member" })).status).toBe(303);
    expect((await owner.post("/p/half/admin/settings", { description: "", access_issues: "members" })).status).toBe(303);
    await addEvent("half", "push", "owner pushed to main", { updates: [] });
    await addEvent("half", "issue", "owner opened issue 1: members only", { number: 1 });
    const anon = new Browser(forge.host);
    const anonPage = await (await anon.get("/p/half/timeline")).text();
    expect(entries(anonPage).map((e) => e.title)).toEqual(["owner pushed to main"]);
    expect(anonPage).not.toContain('value="issue"');
    // Asking for the hidden kind shows nothing rather than an error that would tell it exists.
    expect(entries(await (await anon.get("/p/half/timeline?kind=issue")).text())).toEqual([]);
    const anonFeed = parseAtom(await (await anon.get("/p/half/timeline.atom")).text());
    expect(anonFeed.feed.entry!.map((e) => e.title)).toEqual(["owner pushed to main"]);
    expect(await (await anon.get("/p/half/")).text()).not.toContain("members only");
    const memberFeed = parseAtom(await (await anon.get(`/p/half/timeline.atom?token=${memberToken}`)).text());
    expect(memberFeed.feed.entry!.map((e) => e.title)).toEqual(["owner opened issue 1: members only", "owner pushed to main"]);
    expect(await (await member.get("/p/half/")).text()).toContain("members only");
  });

  it("shows each project's last activity on the front page, counting only areas the viewer may read", async () => {
    expect((await owner.post("/projects/new", { name: "dated", description: "Dated *project*" })).status).toBe(303);
    expect((await owner.post("/p/dated/admin/members", { username: "mona", role: "member" })).status).toBe(303);
    expect(
      (await owner.post("/p/dated/admin/settings", { description: "Dated *project*", access_issues: "members" })).status,
    ).toBe(303);
    await addEvent("dated", "push", "owner pushed", { updates: [] }, "2020-01-02T03:04:05.000Z");
    await addEvent("dated", "issue", "owner opened issue 9", { number: 9 }, "2021-06-07T08:09:10.000Z");
    const row = (page: string) => /<tr><td><a href="\/p\/dated\/">dated<\/a>[\s\S]*?<\/tr>/.exec(page)![0];
    const anon = row(await (await new Browser(forge.host).get("/")).text());
    expect(anon).toContain("Dated *project*");
    expect(anon).toContain('<time datetime="2020-01-02T03:04:05.000Z">2020-01-02</time>');
    const mine = row(await (await member.get("/")).text());
    expect(mine).toContain('<time datetime="2021-06-07T08:09:10.000Z">2021-06-07</time>');
  });
});
