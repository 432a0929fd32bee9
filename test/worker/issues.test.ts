// The issue tracker's pages in workerd: filing (with labels, owner, due date, attachments), comments
// that record changes, one-value label classes, relations on both sides, lists, summary, search,
// watch list, feeds, templates, configuration, and who may do what.
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { Browser, apiCall, newForge, registerUser, tenantD1, type Forge } from "./browser";
import { admin } from "./helpers";

const env = workerEnv as unknown as { OBJECTS: R2Bucket };

let forge: Forge;
let owner: Browser;
let mia: Browser; // member
let stan: Browser; // signed in, not a member
const anon = () => new Browser(forge.host);

/** A form post with files (multipart), as a browser sends it from the forge's own page. */
function postMultipart(
  b: Browser,
  path: string,
  fields: Record<string, string>,
  files: { name: string; data: string | Uint8Array; type?: string }[] = [],
) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  for (const f of files) form.append("attachment", new File([f.data], f.name, { type: f.type ?? "application/octet-stream" }));
  return b.fetch(path, {
    method: "POST",
    headers: { origin: b.origin, "sec-fetch-site": "same-origin" },
    body: form as unknown as BodyInit,
  });
}

async function text(b: Browser, path: string, status = 200): Promise<string> {
  const res = await b.get(path);
  const body = await res.text();
  expect(res.status, `${path}: ${body.slice(0, 300)}`).toBe(status);
  return body;
}

/** Files an issue through the form; returns its number. */
async function file(
  b: Browser,
  project: string,
  fields: Record<string, string>,
  files: { name: string; data: string | Uint8Array }[] = [],
): Promise<number> {
  const res = await postMultipart(b, `/p/${project}/issues/new`, fields, files);
  const body = res.status === 303 ? "" : await res.text();
  expect(res.status, body.slice(0, 500)).toBe(303);
  const m = /\/issues\/(\d+)\?ok=filed$/.exec(res.headers.get("location") ?? "");
  expect(m, res.headers.get("location") ?? "").not.toBeNull();
  return Number(m![1]);
}

/** The issue's version as its page's form carries it. */
async function version(b: Browser, project: string, n: number): Promise<string> {
  return /name="version" value="(\d+)"/.exec(await text(b, `/p/${project}/issues/${n}`))![1]!;
}

async function comment(
  b: Browser,
  project: string,
  n: number,
  fields: Record<string, string>,
  files: { name: string; data: string | Uint8Array }[] = [],
) {
  return postMultipart(b, `/p/${project}/issues/${n}/comment`, { version: await version(b, project, n), ...fields }, files);
}

/** Every field of a member's comment form, as the page fills them (so only what a test changes changes). */
async function currentFields(b: Browser, project: string, n: number): Promise<Record<string, string>> {
  const page = await text(b, `/p/${project}/issues/${n}`);
  const form = page.slice(page.indexOf(`action="/p/${project}/issues/${n}/comment"`));
  const fields: Record<string, string> = {};
  for (const m of form.matchAll(/<input[^>]*name="([^"]+)"[^>]*>/g)) {
    const value = /value="([^"]*)"/.exec(m[0]);
    if (!/type="(file|hidden)"/.test(m[0])) fields[m[1]!] = value ? unescapeHtml(value[1]!) : "";
  }
  for (const m of form.matchAll(/<select[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
    const selected = /<option value="([^"]*)"[^>]*selected/.exec(m[2]!);
    fields[m[1]!] = selected ? unescapeHtml(selected[1]!) : "";
  }
  return fields;
}

const unescapeHtml = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");

beforeAll(async () => {
  forge = await newForge("iss");
  owner = new Browser(forge.host);
  await owner.signIn("owner", forge.ownerPassword);
  mia = await registerUser(forge, "mia");
  stan = await registerUser(forge, "stan");
  for (const name of ["tracker", "other"]) {
    expect((await owner.post("/projects/new", { name, description: "" })).status).toBe(303);
  }
  expect((await owner.post("/p/tracker/admin/members", { username: "mia", role: "member" })).status).toBe(303);
}, 120_000);

describe("an empty tracker", () => {
  it("teaches how to file the first issue, on the page and with the API", async () => {
    const page = await text(mia, "/p/other/issues/");
    expect(page).toContain("No issues yet");
    expect(page).toContain('href="/p/other/issues/new"');
    expect(page).toContain(`/api/v1/projects/other/issues`);
    expect(page).toContain("Fixes #1");
    // Signed out: a way to sign in first.
    expect(await text(anon(), "/p/other/issues/")).toContain("/account/login?next=%2Fp%2Fother%2Fissues%2Fnew");
    // The project page links to the tracker.
    expect(await text(anon(), "/p/other/")).toContain('href="/p/other/issues/"');
  });
});

describe("filing issues", () => {
  it("files with summary, Markdown description, labels, owner, due date and an attachment; numbers count per project", async () => {
    const n = await file(
      mia,
      "tracker",
      {
        summary: "Crash when saving a <b>file</b>",
        description: "Steps:\n\n1. open\n2. save\n\nSee src/app.ts#L10 and #2. <script>alert(1)</script>",
        status: "Accepted",
        owner: "mia",
        due_date: "2031-05-01",
        label_type: "Type:Defect",
        label_priority: "Priority:High",
        labels: "component:ui Security",
      },
      [{ name: "trace.log", data: "stack trace line 1\n" }],
    );
    expect(n).toBe(1);
    const page = await text(anon(), "/p/tracker/issues/1");
    expect(page).toContain("Crash when saving a &lt;b&gt;file&lt;/b&gt;");
    expect(page).not.toContain("<script>alert(1)</script>");
    expect(page).toContain('href="/p/tracker/source/blob/HEAD/src/app.ts#L10"');
    expect(page).toContain('href="/p/tracker/issues/2"');
    expect(page).toMatch(/class="st open">Accepted</);
    // Labels spelled as configured (component:ui -> Component:UI), free ones kept.
    for (const label of ["Type:Defect", "Priority:High", "Component:UI", "Security"]) {
      expect(page).toContain(`href="/p/tracker/issues/?label=${encodeURIComponent(label)}"`);
    }
    expect(page).toContain('href="/p/tracker/issues/?owner=mia"');
    expect(page).toContain('datetime="2031-05-01"');
    expect(page).toMatch(/href="\/p\/tracker\/issues\/attachments\/[A-Za-z0-9_-]+\/trace.log"/);
    // Another project counts from 1 too.
    expect(await file(stan, "other", { summary: "First in other" })).toBe(1);
    expect(await file(stan, "tracker", { summary: "Second here" })).toBe(2);
  });

  it("takes only summary, description and files from non-members: triage fields are members' (the API says 403)", async () => {
    const n = await file(stan, "tracker", {
      summary: "Please add dark mode",
      description: "It hurts.",
      status: "Fixed",
      label_type: "Type:Enhancement",
      owner: "stan",
    });
    const page = await text(stan, `/p/tracker/issues/${n}`);
    expect(page).toMatch(/class="st open">New</);
    expect(page).not.toContain("Type:Enhancement");
    expect(page).not.toContain('name="status"');
    const res = await apiCall(forge.host, "POST", "/api/v1/projects/tracker/issues", await apiToken(stan), {
      title: "x",
      labels: ["Type:Defect"],
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/members/);
  });

  it("refuses bad input with a clear 400 that keeps what was typed, and files nothing", async () => {
    const before = await issueCount();
    let res = await postMultipart(mia, "/p/tracker/issues/new", { summary: "   ", description: "my long description" });
    expect(res.status).toBe(400);
    let body = await res.text();
    expect(body).toContain("Give the issue a summary");
    expect(body).toContain("my long description");
    res = await postMultipart(mia, "/p/tracker/issues/new", { summary: "Bad status", status: "Nonsense" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("Unknown status");
    res = await postMultipart(mia, "/p/tracker/issues/new", { summary: "Bad date", due_date: "2030-02-30" });
    expect(res.status).toBe(400);
    res = await postMultipart(mia, "/p/tracker/issues/new", { summary: "Bad owner", owner: "nobody-here" });
    expect(res.status).toBe(400);
    body = await res.text();
    expect(body).toContain("There is no user nobody-here");
    expect(body).toContain('value="Bad owner"');
    expect(await issueCount()).toBe(before);
  });

  it("asks the signed-out to sign in, and changes nothing on GET", async () => {
    const res = await anon().post("/p/tracker/issues/new", { summary: "anonymous" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toMatch(/^\/account\/login\?next=/);
    expect((await anon().get("/p/tracker/issues/new")).status).toBe(303);
    const before = await issueCount();
    expect((await mia.get("/p/tracker/issues/1/comment")).status).toBe(404);
    expect((await mia.get("/p/tracker/issues/1/star")).status).toBe(404);
    expect(await issueCount()).toBe(before);
  });
});

async function issueCount(): Promise<number> {
  const db = await tenantD1(forge);
  return (await db.prepare("SELECT count(*) AS n FROM issues").first<{ n: number }>())!.n;
}

const tokens = new Map<Browser, string>();
async function apiToken(b: Browser): Promise<string> {
  if (!tokens.has(b)) {
    const res = await b.post("/account/tokens", { name: "t", scope: "write" });
    tokens.set(b, /<p class="token">(efp_[A-Za-z0-9_-]+)<\/p>/.exec(await res.text())![1]!);
  }
  return tokens.get(b)!;
}

describe("the project timeline", () => {
  it("records filings and changes of issues", async () => {
    const db = await tenantD1(forge);
    const { results } = await db
      .prepare(
        "SELECT title, key FROM events WHERE kind = 'issue' AND project_id = (SELECT id FROM projects WHERE name = 'tracker') ORDER BY id",
      )
      .all<{ title: string; key: string }>();
    expect(results[0]).toMatchObject({
      title: "mia opened issue 1: Crash when saving a <b>file</b>",
      key: expect.stringMatching(/^issue:\d+:opened$/),
    });
    expect(results.map((r) => r.title)).toContain("stan opened issue 2: Second here");
  });
});

describe("one-value label classes", () => {
  it("refuses two labels of one class in a form, and keeps the issue as it was", async () => {
    const fields = await currentFields(mia, "tracker", 1);
    const res = await comment(mia, "tracker", 1, {
      ...fields,
      comment: "relabel",
      label_type: "Type:Defect",
      labels: "Type:Enhancement Security",
    });
    expect(res.status).toBe(400);
    const body = await res.text();
    expect(body).toMatch(/both in the one-value class Type/);
    expect(body).toContain("relabel");
    const page = await text(anon(), "/p/tracker/issues/1");
    expect(page).not.toContain("Type:Enhancement");
    expect(page).not.toContain(">relabel<");
  });
});

describe("comments record what they change", () => {
  it("shows status, owner, labels, summary and due date changes in the history", async () => {
    const fields = await currentFields(mia, "tracker", 1);
    const res = await comment(mia, "tracker", 1, {
      ...fields,
      comment: "Reproduced on **main**.",
      summary: "Crash when saving files",
      status: "Started",
      owner: "owner",
      label_priority: "Priority:Critical",
      labels: "Component:UI",
      due_date: "2031-06-01",
    });
    expect(res.status, await res.clone().text()).toBe(303);
    const page = await text(anon(), "/p/tracker/issues/1");
    expect(page).toContain("Reproduced on <strong>main</strong>.");
    expect(page).toMatch(/Status: Accepted → <strong>Started<\/strong>/);
    expect(page).toMatch(/Owner: mia → owner/);
    expect(page).toMatch(/Summary: Crash when saving a &lt;b&gt;file&lt;\/b&gt; → Crash when saving files/);
    expect(page).toMatch(/Due date: 2031-05-01 → 2031-06-01/);
    expect(page).toMatch(
      /Labels: \+<a class="lbl"[^>]*><span>Priority:<\/span>Critical<\/a><del>−Priority:High <\/del><del>−Security <\/del>/,
    );
    // A comment with nothing in it is refused.
    const empty = await comment(mia, "tracker", 1, await currentFields(mia, "tracker", 1));
    expect(empty.status).toBe(400);
  });

  it("refuses a form computed from an older version that would undo someone else's change (409), keeping the comment", async () => {
    const stale = await currentFields(mia, "tracker", 1);
    const staleVersion = await version(mia, "tracker", 1);
    // Someone else changes the status meanwhile.
    const fresh = await currentFields(owner, "tracker", 1);
    expect((await comment(owner, "tracker", 1, { ...fresh, status: "Accepted" })).status).toBe(303);
    const res = await postMultipart(mia, "/p/tracker/issues/1/comment", {
      ...stale,
      version: staleVersion,
      comment: "my careful words",
    });
    expect(res.status).toBe(409);
    const body = await res.text();
    expect(body).toContain("my careful words");
    expect(body).toMatch(/<option value="Accepted" selected/);
    // A plain comment on the stale version still goes in: it changes no field.
    const plain = await postMultipart(mia, "/p/tracker/issues/1/comment", { version: staleVersion, comment: "just a note" });
    expect(plain.status).toBe(303);
  });

  it("lets non-members comment and attach files but not change fields", async () => {
    const res = await comment(stan, "tracker", 1, { comment: "Me too!", status: "Fixed" }, [
      { name: "screenshot.png", data: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]) },
    ]);
    expect(res.status).toBe(303);
    const page = await text(anon(), "/p/tracker/issues/1");
    expect(page).toContain("Me too!");
    expect(page).toContain("Attached: screenshot.png");
    expect(page).not.toMatch(/class="st closed">Fixed/);
  });
});

describe("relations", () => {
  it("are shown on both sides, inverted, and can be removed", async () => {
    const a = await file(mia, "tracker", { summary: "Parser rewrite" });
    const b = await file(mia, "tracker", { summary: "Parser crash" });
    const c = await file(mia, "tracker", { summary: "Parser crash again" });
    const add = async (from: number, kind: string, numbers: string) =>
      comment(mia, "tracker", from, {
        ...(await currentFields(mia, "tracker", from)),
        relation_kind: kind,
        relation_numbers: numbers,
      });
    expect((await add(a, "blocks", `${b}`)).status).toBe(303);
    expect((await add(c, "duplicates", `#${b}`)).status).toBe(303);
    expect((await add(a, "relates", `${c}`)).status).toBe(303);
    const rel = async (n: number) =>
      [
        ...(await text(anon(), `/p/tracker/issues/${n}`)).matchAll(
          /<li>(blocks|blocked by|duplicates|duplicated by|related to) <a href="\/p\/tracker\/issues\/(\d+)"/g,
        ),
      ]
        .map((m) => `${m[1]} ${m[2]}`)
        .sort();
    expect(await rel(a)).toEqual([`blocks ${b}`, `related to ${c}`]);
    expect(await rel(b)).toEqual([`blocked by ${a}`, `duplicated by ${c}`]);
    expect(await rel(c)).toEqual([`duplicates ${b}`, `related to ${a}`]);
    // Added from the other side, the same relation is not stored twice.
    expect((await add(b, "blocked-by", `${a}`)).status).toBe(400); // nothing to change
    // Removing from the other side removes it for both.
    expect((await mia.post(`/p/tracker/issues/${b}/relations/delete`, { kind: "blocked-by", number: String(a) })).status).toBe(
      303,
    );
    expect(await rel(a)).toEqual([`related to ${c}`]);
    expect(await rel(b)).toEqual([`duplicated by ${c}`]);
    expect(await text(anon(), `/p/tracker/issues/${b}`)).toMatch(/Relation removed: <del>blocked by #\d+<\/del>/);
    // Itself, or an issue that does not exist: 400.
    expect((await add(a, "relates", `${a}`)).status).toBe(400);
    expect((await add(a, "relates", "9999")).status).toBe(400);
    expect((await add(a, "relates", "abc")).status).toBe(400);
  });
});

describe("lists", () => {
  it("lists open and closed issues, by label, owner, submitter and status, sorted and paginated", async () => {
    const closedOne = await file(mia, "tracker", { summary: "Zzz closed one", status: "WontFix" });
    const open = await text(anon(), "/p/tracker/issues/");
    expect(open).toContain("Crash when saving files");
    expect(open).not.toContain("Zzz closed one");
    expect(await text(anon(), "/p/tracker/issues/?state=closed")).toContain("Zzz closed one");
    const byLabel = await text(anon(), "/p/tracker/issues/?label=type:defect");
    expect(byLabel).toContain("Crash when saving files");
    expect(byLabel).not.toContain("Please add dark mode");
    expect(await text(anon(), "/p/tracker/issues/?owner=owner")).toContain("Crash when saving files");
    expect(await text(anon(), "/p/tracker/issues/?owner=owner")).not.toContain("Parser crash");
    const byStan = await text(anon(), "/p/tracker/issues/?by=stan");
    expect(byStan).toContain("Please add dark mode");
    expect(byStan).not.toContain("Parser crash");
    expect(await text(anon(), "/p/tracker/issues/?status=wontfix")).toContain("Zzz closed one");
    const sorted = await text(anon(), "/p/tracker/issues/?state=all&sort=summary&order=asc");
    const summaries = [...sorted.matchAll(/<td><a href="\/p\/tracker\/issues\/\d+">([^<]+)<\/a>/g)].map((m) => m[1]!);
    expect(summaries).toEqual([...summaries].sort((x, y) => x.toLowerCase().localeCompare(y.toLowerCase())));
    expect(summaries.at(-1)).toBe("Zzz closed one");
    expect((await anon().get("/p/tracker/issues/?sort=nonsense")).status).toBe(400);
    expect((await anon().get("/p/tracker/issues/?status=nonsense")).status).toBe(400);
    expect(closedOne).toBeGreaterThan(0);
  });

  it("paginates 50 a page", async () => {
    const db = await tenantD1(forge);
    const project = (await db.prepare("SELECT id FROM projects WHERE name = 'other'").first<{ id: number }>())!.id;
    const stmt = db.prepare("INSERT INTO issues (project_id, number, summary, status, state) VALUES (?, ?, ?, 'New', 'open')");
    await db.batch(Array.from({ length: 60 }, (_, i) => stmt.bind(project, i + 100, `Bulk issue ${i + 100}`)));
    const first = await text(anon(), "/p/other/issues/?sort=number&order=asc");
    expect(first).toContain("Page 1 of 2");
    expect([...first.matchAll(/<td class="num">/g)].length).toBe(50);
    const second = await text(anon(), "/p/other/issues/?sort=number&order=asc&page=2");
    expect([...second.matchAll(/<td class="num">/g)].length).toBe(11);
    expect(second).toContain("Bulk issue 159");
  });

  it("shows overdue issues, my issues and the summary counts", async () => {
    const late = await file(mia, "tracker", { summary: "Late work", due_date: "2020-01-01", owner: "mia" });
    const overdue = await text(anon(), "/p/tracker/issues/overdue");
    expect(overdue).toContain("Late work");
    expect(overdue).not.toContain("Crash when saving files"); // due in 2031
    expect(overdue).toContain("overdue ");
    expect(await text(mia, "/p/tracker/issues/my")).toContain("Late work");
    expect(await text(stan, "/p/tracker/issues/my?which=submitted")).toContain("Please add dark mode");
    expect(await text(stan, "/p/tracker/issues/my?which=submitted")).not.toContain("Late work");
    expect((await anon().get("/p/tracker/issues/my")).status).toBe(303);
    const summary = await text(anon(), "/p/tracker/issues/summary");
    const db = await tenantD1(forge);
    const count = async (sql: string) => (await db.prepare(sql).first<{ n: number }>())!.n;
    const project = "(SELECT id FROM projects WHERE name = 'tracker')";
    const newCount = await count(`SELECT count(*) n FROM issues WHERE project_id = ${project} AND status = 'New'`);
    expect(summary).toMatch(
      new RegExp(
        `status=New"><span class="st open">New</span></a></td><td class="opt muted">[^<]*</td><td class="num">${newCount}</td>`,
      ),
    );
    expect(summary).toMatch(/1 overdue/);
    const defects = await count(
      `SELECT count(*) n FROM issue_labels l JOIN issues i ON i.id = l.issue_id WHERE l.name_key = 'type:defect' AND i.state = 'open' AND i.project_id = ${project}`,
    );
    expect(summary).toMatch(new RegExp(`<span>Type:</span>Defect</a></td><td class="num">${defects}</td>`));
    expect(summary).toMatch(/owner=mia">mia<\/a><\/td><td class="num">\d+<\/td>/);
    expect(late).toBeGreaterThan(0);
  });
});

describe("search", () => {
  it("finds words in summaries, descriptions and comments (accents and case ignored), refined by status and label", async () => {
    await file(mia, "tracker", {
      summary: "Café menu is garbled",
      description: "The naïve encoder breaks UTF-8.",
      label_type: "Type:Defect",
    });
    const n = await file(mia, "tracker", { summary: "Export to PDF", label_type: "Type:Enhancement" });
    expect((await comment(mia, "tracker", n, { comment: "Needs the zanzibar library." })).status).toBe(303);
    const results = (html: string) =>
      [...html.matchAll(/<td><a href="\/p\/tracker\/issues\/\d+">([^<]+)<\/a>/g)].map((m) => m[1]);
    expect(results(await text(anon(), "/p/tracker/issues/search?q=cafe"))).toEqual(["Café menu is garbled"]);
    expect(results(await text(anon(), "/p/tracker/issues/search?q=NAIVE+encoder"))).toEqual(["Café menu is garbled"]);
    const byComment = await text(anon(), "/p/tracker/issues/search?q=zanzibar");
    expect(results(byComment)).toEqual(["Export to PDF"]);
    expect(byComment).toContain("<mark>zanzibar</mark>");
    expect(results(await text(anon(), "/p/tracker/issues/search?q=garbled&label=Type:Enhancement"))).toEqual([]);
    expect(results(await text(anon(), "/p/tracker/issues/search?q=garbled+label:Type:Defect"))).toEqual(["Café menu is garbled"]);
    expect(results(await text(anon(), "/p/tracker/issues/search?q=garbled&status=Fixed"))).toEqual([]);
    expect(results(await text(anon(), "/p/tracker/issues/search?q=garbled&status=New"))).toEqual(["Café menu is garbled"]);
    expect(results(await text(anon(), "/p/tracker/issues/search?q=garb*"))).toEqual(["Café menu is garbled"]);
    expect(results(await text(anon(), "/p/tracker/issues/search?q=%22menu+is%22"))).toEqual(["Café menu is garbled"]);
    expect(results(await text(anon(), "/p/tracker/issues/search?q=parser+-again")).sort()).toEqual([
      "Parser crash",
      "Parser rewrite",
    ]);
    // FTS syntax in what people type is never an error; a query of only exclusions is a 400.
    expect((await anon().get("/p/tracker/issues/search?q=%22unbalanced+AND+OR+NEAR(*")).status).toBe(200);
    expect((await anon().get("/p/tracker/issues/search?q=-alone")).status).toBe(400);
    // "#3" goes to the issue.
    const jump = await anon().get("/p/tracker/issues/search?q=%233");
    expect(jump.status).toBe(303);
    expect(jump.headers.get("location")).toBe("/p/tracker/issues/3");
    // Another project's issues never show.
    expect(results(await text(anon(), "/p/other/issues/search?q=garbled"))).toEqual([]);
  });
});

describe("watch list", () => {
  it("stars issues (the submitter watches their own) and lists them across projects the user may read", async () => {
    expect((await stan.post("/p/tracker/issues/1/star", { star: "1" })).status).toBe(303);
    let list = await text(stan, "/watchlist");
    expect(list).toContain("Crash when saving files");
    expect(list).toContain("Please add dark mode"); // filed by stan
    expect(list).toContain("First in other");
    expect(await text(stan, "/p/tracker/issues/1")).toContain("Stop watching");
    expect((await stan.post("/p/tracker/issues/1/star", { star: "0" })).status).toBe(303);
    list = await text(stan, "/watchlist");
    expect(list).not.toContain("Crash when saving files");
    // A project turned members-only disappears from a non-member's list.
    expect((await owner.post("/p/other/admin/settings", { description: "", access_issues: "members" })).status).toBe(303);
    list = await text(stan, "/watchlist");
    expect(list).not.toContain("First in other");
    expect(list).toContain("Please add dark mode");
    expect((await anon().get("/watchlist")).status).toBe(303);
    expect((await owner.post("/p/other/admin/settings", { description: "", access_issues: "all" })).status).toBe(303);
  });
});

describe("Atom feeds", () => {
  it("has one per project and one per issue, with filings and comments, escaped", async () => {
    const n = await file(mia, "tracker", { summary: "Feed <me> & you", description: "Body with *emphasis*" });
    expect((await comment(mia, "tracker", n, { comment: "A comment for the feed" })).status).toBe(303);
    const res = await anon().get("/p/tracker/feed/issues.atom");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/atom+xml; charset=utf-8");
    const feed = await res.text();
    expect(feed).toMatch(/^<\?xml version="1.0" encoding="utf-8"\?>\n<feed xmlns="http:\/\/www.w3.org\/2005\/Atom"/);
    expect(feed).toContain(`<title>Issue ${n} filed: Feed &lt;me&gt; &amp; you</title>`);
    expect(feed).toContain("A comment for the feed");
    expect(feed).toContain("&lt;em&gt;emphasis&lt;/em&gt;");
    expect(feed).not.toContain("<me>");
    const one = await text(anon(), `/p/tracker/feed/issues/${n}.atom`);
    expect(one).toContain("A comment for the feed");
    expect(one).not.toContain("Crash when saving files");
    expect((await anon().get("/p/tracker/feed/issues/9999.atom")).status).toBe(404);
    // The list pages link their feed.
    expect(await text(anon(), "/p/tracker/issues/")).toContain('href="/p/tracker/feed/issues.atom"');
  });
});

describe("templates and configuration", () => {
  it("offers owners' templates on the new-issue page; only owners configure", async () => {
    expect((await mia.get("/p/tracker/issues/admin")).status).toBe(404);
    expect((await anon().get("/p/tracker/issues/admin")).status).toBe(303);
    const res = await owner.post("/p/tracker/issues/admin/templates", {
      name: "Defect report",
      summary: "Defect: ",
      body: "What did you do?\n\nWhat happened?",
      labels: "Type:Defect Priority:Medium",
    });
    expect(res.status).toBe(303);
    expect(
      (await owner.post("/p/tracker/issues/admin/templates", { name: "Defect report", summary: "", body: "", labels: "" }))
        .status,
    ).toBe(409);
    expect(
      (
        await owner.post("/p/tracker/issues/admin/templates", {
          name: "Bad",
          summary: "",
          body: "",
          labels: "Type:Defect Type:Task",
        })
      ).status,
    ).toBe(400);
    const newPage = await text(mia, "/p/tracker/issues/new");
    const id = /\?template=(\d+)">Defect report/.exec(newPage)![1];
    const withTemplate = await text(mia, `/p/tracker/issues/new?template=${id}`);
    expect(withTemplate).toContain('value="Defect:"');
    expect(withTemplate).toContain("What did you do?");
    expect(withTemplate).toMatch(/<option value="Type:Defect"[^>]*selected/);
    expect(withTemplate).toMatch(/<option value="Priority:Medium"[^>]*selected/);
  });

  it("changes statuses, labels and one-value classes; issues follow their status's list; bad configuration changes nothing", async () => {
    const n = await file(mia, "tracker", { summary: "Waiting on review", status: "Started" });
    const config = {
      open_statuses: "New = new\nAccepted\nStarted = work has begun",
      closed_statuses: "Fixed\nVerified\nInvalid\nDuplicate\nWontFix",
      labels: "Type:Defect\nType:Enhancement\nSeverity:Low\nSeverity:High",
      one_value_classes: "Type Severity",
    };
    // Started moves to the closed list: the issue closes.
    expect(
      (
        await owner.post("/p/tracker/issues/admin", {
          ...config,
          open_statuses: "New\nAccepted",
          closed_statuses: `${config.closed_statuses}\nStarted`,
        })
      ).status,
    ).toBe(303);
    expect(await text(anon(), `/p/tracker/issues/${n}`)).toMatch(/class="st closed">Started</);
    // A status in both lists: refused, nothing saved.
    const bad = await owner.post("/p/tracker/issues/admin", { ...config, closed_statuses: "Fixed\nNew" });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("is in both lists");
    expect(await text(anon(), `/p/tracker/issues/${n}`)).toMatch(/class="st closed">Started</);
    expect((await owner.post("/p/tracker/issues/admin", config)).status).toBe(303);
    expect(await text(anon(), `/p/tracker/issues/${n}`)).toMatch(/class="st open">Started</);
    // Severity is now a one-value class; Priority no longer is.
    const fields = await currentFields(mia, "tracker", n);
    expect(fields).toHaveProperty("label_severity");
    expect((await comment(mia, "tracker", n, { ...fields, labels: "Severity:Low Severity:High" })).status).toBe(400);
    expect((await comment(mia, "tracker", n, { ...fields, labels: "Priority:Low Priority:High" })).status).toBe(303);
    // Back to the defaults for the other tests.
    const { DEFAULT_CONFIG_TEXT } = await import("../../src/services/issue-config");
    expect(
      (
        await owner.post("/p/tracker/issues/admin", {
          open_statuses: DEFAULT_CONFIG_TEXT.openStatuses,
          closed_statuses: DEFAULT_CONFIG_TEXT.closedStatuses,
          labels: DEFAULT_CONFIG_TEXT.labels,
          one_value_classes: DEFAULT_CONFIG_TEXT.oneValueClasses,
        })
      ).status,
    ).toBe(303);
  });
});

describe("attachments", () => {
  it("stores files in R2 under the tenant's prefix and serves them safely", async () => {
    const n = await file(mia, "tracker", { summary: "With files" }, [
      { name: "notes.txt", data: "plain notes\n" },
      { name: "evil.html", data: "<script>alert(1)</script>" },
      { name: "blob.bin", data: new Uint8Array([0, 1, 2, 3]) },
    ]);
    const page = await text(anon(), `/p/tracker/issues/${n}`);
    const links = [...page.matchAll(/href="(\/p\/tracker\/issues\/attachments\/[^"]+)"/g)].map((m) => m[1]!);
    expect(links).toHaveLength(3);
    const get = async (name: string) => anon().get(links.find((l) => l.endsWith(`/${name}`))!);
    let res = await get("notes.txt");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("plain notes\n");
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    res = await get("evil.html");
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toContain("sandbox");
    res = await get("blob.bin");
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="blob.bin"/);
    const listed = await env.OBJECTS.list({ prefix: `t/${forge.id}/issues/` });
    expect(listed.objects.length).toBeGreaterThanOrEqual(3);
    // An attachment of another project is not found through this one.
    expect((await anon().get(links[0]!.replace("/p/tracker/", "/p/other/"))).status).toBe(404);
  });

  it("refuses files over the plan's limit with 413, storing nothing and keeping the text", async () => {
    const patched = await admin("PATCH", `/api/v1/tenants/${forge.slug}`, { plan: { max_upload_bytes: 1000 } });
    expect(patched.status).toBe(200);
    const before = (await env.OBJECTS.list({ prefix: `t/${forge.id}/issues/` })).objects.length;
    const issuesBefore = await issueCount();
    const res = await postMultipart(mia, "/p/tracker/issues/new", { summary: "Too big", description: "keep me" }, [
      { name: "big.bin", data: new Uint8Array(5000) },
    ]);
    expect(res.status).toBe(413);
    const body = await res.text();
    expect(body).toContain("big.bin is larger than this forge&#39;s limit of 1000 bytes per file");
    expect(body).toContain("keep me");
    expect(body).toContain('value="Too big"');
    expect((await env.OBJECTS.list({ prefix: `t/${forge.id}/issues/` })).objects.length).toBe(before);
    expect(await issueCount()).toBe(issuesBefore);
    // Within the limit it goes through.
    expect(await file(mia, "tracker", { summary: "Small enough" }, [{ name: "ok.txt", data: "x".repeat(900) }])).toBeGreaterThan(
      0,
    );
    expect(
      (await admin("PATCH", `/api/v1/tenants/${forge.slug}`, { plan: { max_upload_bytes: 100 * 1024 * 1024 } })).status,
    ).toBe(200);
  });
});

describe("access", () => {
  it("follows the project's issues level: members-only trackers are hidden (404) from others, off is off for all", async () => {
    expect((await owner.post("/p/other/admin/settings", { description: "", access_issues: "members" })).status).toBe(303);
    for (const path of [
      "/p/other/issues/",
      "/p/other/issues/1",
      "/p/other/issues/summary",
      "/p/other/issues/search?q=x",
      "/p/other/feed/issues.atom",
      "/p/other/feed/issues/1.atom",
    ]) {
      expect((await stan.get(path)).status, path).toBe(404);
      expect((await anon().get(path)).status, path).toBe(404);
    }
    expect((await stan.post("/p/other/issues/1/comment", { comment: "sneaky" })).status).toBe(404);
    expect((await apiCall(forge.host, "GET", "/api/v1/projects/other/issues", await apiToken(stan))).status).toBe(404);
    expect((await owner.get("/p/other/issues/1")).status).toBe(200);
    expect((await owner.post("/p/other/admin/settings", { description: "", access_issues: "off" })).status).toBe(303);
    expect((await owner.get("/p/other/issues/")).status).toBe(404);
    expect((await owner.post("/p/other/admin/settings", { description: "", access_issues: "all" })).status).toBe(303);
  });

  it("refuses writes from another site (CSRF) without changing anything", async () => {
    const before = await issueCount();
    const res = await mia.post("/p/tracker/issues/new", { summary: "cross-site" }, { from: "https://evil.example" });
    expect(res.status).toBe(403);
    expect(await issueCount()).toBe(before);
  });
});
