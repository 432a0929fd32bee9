// The wiki's pages in workerd: revisions (save, view, diff, revert, delete one, never the last),
// labels and pages by label, [[links]] to existing and missing pages, the table of contents,
// full-text search kept in step with saves and deletions, the timeline, and who may do what.
import { beforeAll, describe, expect, it } from "vitest";
import { Browser, newForge, registerUser, tenantD1, type Forge } from "./browser";

let forge: Forge;
let owner: Browser;
let mia: Browser; // member
let stan: Browser; // signed in, not a member
const anon = () => new Browser(forge.host);

async function text(b: Browser, path: string, status = 200): Promise<string> {
  const res = await b.get(path);
  const body = await res.text();
  expect(res.status, `${path}: ${body.slice(0, 300)}`).toBe(status);
  return body;
}

/** Saves a page through the edit form, as its page fills the base revision; returns the new revision. */
async function save(b: Browser, project: string, name: string, fields: Record<string, string>, labels: string[] = []) {
  const form = await text(b, `/p/${project}/wiki/${name}/edit`);
  const base = /name="base" value="(\d*)"/.exec(form)![1]!;
  const res = await postForm(b, `/p/${project}/wiki/${name}/edit`, { base, title: name, comment: "", ...fields }, labels);
  const body = res.status === 303 ? "" : await res.text();
  expect(res.status, body.slice(0, 500)).toBe(303);
  return Number(/saved=(\d+)/.exec(res.headers.get("location") ?? "")![1]);
}

/** A form post with repeated label fields, from the forge's own page. */
function postForm(b: Browser, path: string, fields: Record<string, string>, labels: string[] = []) {
  const params = new URLSearchParams(fields);
  for (const l of labels) params.append("label", l);
  return b.fetch(path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: b.origin, "sec-fetch-site": "same-origin" },
    body: params.toString(),
  });
}

beforeAll(async () => {
  forge = await newForge("wiki");
  owner = new Browser(forge.host);
  await owner.signIn("owner", forge.ownerPassword);
  mia = await registerUser(forge, "mia");
  stan = await registerUser(forge, "stan");
  for (const name of ["docs", "secret", "closed"])
    expect((await owner.post("/projects/new", { name, description: "" })).status).toBe(303);
  expect((await owner.post("/p/docs/admin/members", { username: "mia", role: "member" })).status).toBe(303);
}, 120_000);

describe("revisions", () => {
  it("keeps every save as a revision with author, comment and text; shows any revision and a diff", async () => {
    expect(await save(mia, "docs", "Install", { body: "# Install\n\nRun make.\n", comment: "first" })).toBe(1);
    expect(await save(mia, "docs", "Install", { body: "# Install\n\nRun make install.\n", comment: "say <install>" })).toBe(2);
    const page = await text(anon(), "/p/docs/wiki/Install");
    expect(page).toContain("Run make install.");
    expect(page).toContain("Revision 2 by mia");
    const history = await text(anon(), "/p/docs/wiki/Install/history");
    expect(history).toContain("say &lt;install&gt;");
    expect(history).toContain(">first<");
    const old = await text(anon(), "/p/docs/wiki/Install/revisions/1");
    expect(old).toContain("Run make.");
    expect(old).toContain("You are reading revision 1");
    const diff = await text(anon(), "/p/docs/wiki/Install/diff?from=1&to=2");
    expect(diff).toMatch(/<tr class="del">.*-Run make\./s);
    expect(diff).toMatch(/<tr class="add">.*\+Run make install\./s);
    await text(anon(), "/p/docs/wiki/Install/revisions/9", 404);
    await text(anon(), "/p/docs/wiki/Install/diff?from=x&to=2", 400);
  });

  it("escapes the text of a diff", async () => {
    await save(mia, "docs", "Escapes", { body: "plain\n" });
    await save(mia, "docs", "Escapes", { body: "<script>alert(1)</script>\n" });
    const diff = await text(anon(), "/p/docs/wiki/Escapes/diff?from=1&to=2");
    expect(diff).toContain("+&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(diff).not.toContain("<script>alert");
    const page = await text(anon(), "/p/docs/wiki/Escapes");
    expect(page).not.toContain("<script>alert");
    // Titles and comments are text wherever they show.
    await save(mia, "docs", "Escapes", { title: '<img src=x onerror="alert(2)">', body: "x\n", comment: "<b>c</b>" });
    for (const path of ["/p/docs/wiki/Escapes", "/p/docs/wiki", "/p/docs/wiki/Escapes/history"]) {
      const body = await text(anon(), path);
      expect(body, path).not.toContain("<img src=x");
      expect(body, path).not.toContain("<b>c</b>");
    }
    expect(await text(anon(), "/p/docs/wiki")).toContain("&lt;img src=x onerror=");
  });

  it("refuses a save based on an old revision (409) and keeps the text typed", async () => {
    await save(mia, "docs", "Busy", { body: "one\n" });
    await save(owner, "docs", "Busy", { body: "two\n" });
    const res = await postForm(mia, "/p/docs/wiki/Busy/edit", { base: "1", title: "Busy", body: "mine\n" });
    expect(res.status).toBe(409);
    const body = await res.text();
    expect(body).toContain("changed by someone else");
    expect(body).toContain("mine");
    expect(await text(anon(), "/p/docs/wiki/Busy")).toContain("two");
    // Creating a page that exists is a conflict too.
    expect((await postForm(mia, "/p/docs/wiki/Busy/edit", { base: "", title: "Busy", body: "x" })).status).toBe(409);
  });

  it("reverts to an old revision as a new revision", async () => {
    await save(mia, "docs", "Revert", { body: "good\n" });
    await save(mia, "docs", "Revert", { body: "vandalised\n" });
    const res = await postForm(mia, "/p/docs/wiki/Revert/revisions/1/revert", { base: "2" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toContain("saved=3");
    const page = await text(anon(), "/p/docs/wiki/Revert");
    expect(page).toContain("good");
    expect(page).not.toContain("vandalised");
    expect(await text(anon(), "/p/docs/wiki/Revert/history")).toContain("Reverted to revision 1");
    // A revert from a stale view is refused.
    expect((await postForm(mia, "/p/docs/wiki/Revert/revisions/2/revert", { base: "2" })).status).toBe(409);
  });

  it("deletes a revision (the current one gives way to the one before), never the last one", async () => {
    await save(mia, "docs", "Trim", { body: "keep\n" });
    await save(mia, "docs", "Trim", { body: "oops\n" });
    expect((await postForm(mia, "/p/docs/wiki/Trim/revisions/2/delete", {})).status).toBe(303);
    const page = await text(anon(), "/p/docs/wiki/Trim");
    expect(page).toContain("keep");
    expect(page).not.toContain("oops");
    await text(anon(), "/p/docs/wiki/Trim/revisions/2", 404);
    expect((await postForm(mia, "/p/docs/wiki/Trim/revisions/1/delete", {})).status).toBe(409);
    // Numbers are not reused: the next save is revision 3.
    expect(await save(mia, "docs", "Trim", { body: "again\n" })).toBe(3);
    // Someone signed in who is not a member may not.
    expect((await postForm(stan, "/p/docs/wiki/Trim/revisions/1/delete", {})).status).toBe(403);
  });

  it("deletes a page with its revisions; the name is free again", async () => {
    await save(mia, "docs", "Gone", { body: "bye\n" });
    expect((await postForm(stan, "/p/docs/wiki/Gone/delete", {})).status).toBe(403);
    expect((await postForm(mia, "/p/docs/wiki/Gone/delete", {})).status).toBe(303);
    await text(anon(), "/p/docs/wiki/Gone", 404);
    await text(anon(), "/p/docs/wiki/Gone/history", 404);
    expect(await save(mia, "docs", "Gone", { body: "back\n" })).toBe(1);
  });
});

describe("names, labels, links and contents", () => {
  it("validates page names; spaces become dashes", async () => {
    const res = await mia.get("/p/docs/wiki?create=Getting%20Started");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/p/docs/wiki/Getting-Started/edit");
    await text(mia, "/p/docs/wiki?create=..%2Fetc", 400);
    await text(mia, "/p/docs/wiki/a.b/edit", 400);
    expect((await postForm(mia, "/p/docs/wiki/a%3Cb/edit", { base: "", title: "x", body: "x" })).status).toBe(400);
  });

  it("labels pages with Featured, Deprecated and the configured phases; lists pages by label", async () => {
    await save(mia, "docs", "Roadmap", { body: "later\n" }, ["Featured", "Phase:Draft"]);
    await save(mia, "docs", "Old-API", { body: "old\n" }, ["Deprecated"]);
    const featured = await text(anon(), "/p/docs/wiki?label=Featured");
    expect(featured).toContain('href="/p/docs/wiki/Roadmap"');
    expect(featured).not.toContain('href="/p/docs/wiki/Old-API"');
    expect(await text(anon(), "/p/docs/wiki?label=phase:draft")).toContain("/p/docs/wiki/Roadmap");
    // Unknown labels and two phases are refused with the form again.
    const res = await postForm(mia, "/p/docs/wiki/Roadmap/edit", { base: "1", title: "Roadmap", body: "x" }, ["Phase:Nope"]);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("is not a wiki label here");
    // Owners configure phases; members may not.
    expect((await postForm(mia, "/p/docs/wiki-settings", { phases: "Alpha" })).status).toBe(404);
    expect((await postForm(owner, "/p/docs/wiki-settings", { phases: "Alpha Beta" })).status).toBe(303);
    expect(await save(mia, "docs", "Roadmap", { body: "soon\n" }, ["Featured", "Phase:Beta"])).toBe(2);
    expect(await text(anon(), "/p/docs/wiki/Roadmap")).toContain("Phase:Beta");
  });

  it("links [[Page]] and [[Page|text]]: existing pages normally, missing ones to create them", async () => {
    await save(mia, "docs", "Links", {
      body: "See [[Install]], [[Install|the install guide]], [[Not There|write it]] and [[Bad/Name]].\n",
    });
    const page = await text(anon(), "/p/docs/wiki/Links");
    expect(page).toMatch(/<a [^>]*href="\/p\/docs\/wiki\/Install" class="wiki-link">Install<\/a>/);
    expect(page).toMatch(/<a [^>]*href="\/p\/docs\/wiki\/Install" class="wiki-link">the install guide<\/a>/);
    expect(page).toMatch(/<a [^>]*href="\/p\/docs\/wiki\/Not-There\/edit" class="wiki-link wiki-missing"[^>]*>write it<\/a>/);
    expect(page).toContain("[[Bad/Name]]");
  });

  it("shows a table of contents from the headings", async () => {
    await save(mia, "docs", "Guide", { body: "# Guide\n\n## Set up <b>now</b>\n\ntext\n\n## Run\n\n### Flags\n" });
    const page = await text(anon(), "/p/docs/wiki/Guide");
    const toc = page.slice(page.indexOf('class="wiki-toc"'), page.indexOf("</nav>", page.indexOf('class="wiki-toc"')));
    expect(toc).toContain('href="#user-content-run"');
    expect(toc).toContain('href="#user-content-flags"');
    expect(page).toContain('id="user-content-run"');
    expect(toc).not.toContain("<b>");
  });
});

describe("search", () => {
  it("finds current titles and text, with escaped snippets; follows saves and deletions", async () => {
    await save(mia, "docs", "Deploying", { body: "Use the <em>zebracorn</em> tool to deploy.\n" });
    let page = await text(anon(), "/p/docs/wiki-search?q=zebracorn");
    expect(page).toContain('href="/p/docs/wiki/Deploying"');
    expect(page).toContain("<mark>zebracorn</mark>");
    expect(page).toContain("&lt;em&gt;");
    await save(mia, "docs", "Deploying", { body: "Use the unicorn tool.\n" });
    expect(await text(anon(), "/p/docs/wiki-search?q=zebracorn")).toContain("No page matches");
    expect(await text(anon(), "/p/docs/wiki-search?q=unicorn")).toContain("/p/docs/wiki/Deploying");
    expect((await postForm(mia, "/p/docs/wiki/Deploying/delete", {})).status).toBe(303);
    page = await text(anon(), "/p/docs/wiki-search?q=unicorn");
    expect(page).toContain("No page matches");
    // FTS5 syntax is never passed through.
    await text(anon(), "/p/docs/wiki-search?q=%22a%20OR%20NEAR(b", 200);
  });
});

describe("timeline", () => {
  it("records each save, revert and deletion once, keyed per revision", async () => {
    await save(mia, "docs", "Events", { body: "a\n" });
    await save(mia, "docs", "Events", { body: "b\n" });
    await postForm(mia, "/p/docs/wiki/Events/revisions/1/revert", { base: "2" });
    await postForm(mia, "/p/docs/wiki/Events/delete", {});
    const db = await tenantD1(forge);
    const { results } = await db
      .prepare("SELECT title, payload, key FROM events WHERE kind = 'wiki' AND title LIKE 'Wiki page Events%' ORDER BY id")
      .all<{ title: string; payload: string; key: string }>();
    expect(results.map((r) => r.title)).toEqual([
      "Wiki page Events created by mia",
      "Wiki page Events edited by mia",
      "Wiki page Events reverted to revision 1 by mia",
      "Wiki page Events deleted by mia",
    ]);
    expect(JSON.parse(results[1]!.payload)).toMatchObject({ page: "Events", revision: 2, action: "edited" });
    expect(new Set(results.map((r) => r.key)).size).toBe(4);
  });
});

describe("access", () => {
  it("hides the wiki of a private project (404) and of an area closed to the viewer", async () => {
    await save(owner, "secret", "Plans", { body: "hidden\n" });
    expect((await owner.post("/p/secret/admin/settings", { description: "", private: "1", access_wiki: "all" })).status).toBe(
      303,
    );
    await text(anon(), "/p/secret/wiki/Plans", 404);
    await text(stan, "/p/secret/wiki", 404);
    await text(stan, "/p/secret/wiki-search?q=hidden", 404);
    expect(await text(owner, "/p/secret/wiki/Plans")).toContain("hidden");
    await save(owner, "closed", "Inside", { body: "members\n" });
    expect((await owner.post("/p/closed/admin/settings", { description: "", access_wiki: "members" })).status).toBe(303);
    await text(stan, "/p/closed/wiki/Inside", 404);
    await text(anon(), "/p/closed/wiki", 404);
  });

  it("lets anonymous and non-members read a public wiki but not write; no change on GET", async () => {
    const res = await anon().get("/p/docs/wiki/Install/edit");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toContain("/account/login");
    expect((await postForm(anon(), "/p/docs/wiki/Install/edit", { base: "2", title: "x", body: "x" })).status).toBe(303);
    expect((await postForm(stan, "/p/docs/wiki/Install/edit", { base: "2", title: "x", body: "x" })).status).toBe(403);
    // GETs of the action URLs change nothing.
    expect((await mia.get("/p/docs/wiki/Install/delete")).status).toBe(404);
    expect((await mia.get("/p/docs/wiki/Install/revisions/1/revert")).status).toBe(404);
    expect(await text(anon(), "/p/docs/wiki/Install")).toContain("Run make install.");
  });

  it("refuses a cross-site form post", async () => {
    const res = await mia.post(
      "/p/docs/wiki/Install/edit",
      { base: "2", title: "Install", body: "pwned" },
      { from: "http://evil.example" },
    );
    expect(res.status).toBe(403);
    expect(await text(anon(), "/p/docs/wiki/Install")).not.toContain("pwned");
  });
});

describe("resources", () => {
  const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82]);

  function upload(b: Browser, page: string, file: { name: string; data: Uint8Array | string }, name = "") {
    const form = new FormData();
    form.append("name", name);
    form.append("file", new File([file.data], file.name, { type: "text/html" }));
    return b.fetch(`/p/docs/wiki/${page}/resources`, {
      method: "POST",
      headers: { origin: b.origin, "sec-fetch-site": "same-origin" },
      body: form as unknown as BodyInit,
    });
  }

  it("uploads files to a page, shows images from resource: URLs, keeps revisions, serves them safely", async () => {
    await save(mia, "docs", "Pictures", { body: "![diagram](resource:diagram.png) and [notes](resource:notes.html)\n" });
    expect((await upload(mia, "Pictures", { name: "diagram.png", data: PNG })).status).toBe(303);
    expect(
      (await upload(mia, "Pictures", { name: "whatever.bin", data: "<script>alert(1)</script>" }, "notes.html")).status,
    ).toBe(303);
    const page = await text(anon(), "/p/docs/wiki/Pictures");
    expect(page).toContain('src="/p/docs/wiki/Pictures/resources/diagram.png"');
    expect(page).toContain('href="/p/docs/wiki/Pictures/resources/notes.html"');
    const img = await anon().get("/p/docs/wiki/Pictures/resources/diagram.png");
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/png");
    expect(img.headers.get("x-content-type-options")).toBe("nosniff");
    expect(img.headers.get("content-disposition")).toMatch(/^inline/);
    expect(new Uint8Array(await img.arrayBuffer())).toEqual(PNG);
    const notes = await anon().get("/p/docs/wiki/Pictures/resources/notes.html");
    expect(notes.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(notes.headers.get("content-disposition")).toMatch(/^attachment; filename="notes.html"/);
    expect(notes.headers.get("x-content-type-options")).toBe("nosniff");
    await notes.arrayBuffer();
    // The same name again is its next revision; the first stays reachable.
    expect((await upload(mia, "Pictures", { name: "diagram.png", data: "second" })).status).toBe(303);
    expect(await (await anon().get("/p/docs/wiki/Pictures/resources/diagram.png")).text()).toBe("second");
    expect(
      new Uint8Array(await (await anon().get("/p/docs/wiki/Pictures/resources/diagram.png?revision=1")).arrayBuffer()),
    ).toEqual(PNG);
    expect(await text(anon(), "/p/docs/wiki/Pictures")).toContain("revision 2 of 2");
    await text(anon(), "/p/docs/wiki/Pictures/resources/missing.png", 404);
  });

  it("refuses uploads from non-members, bad names and empty files, keeping nothing", async () => {
    expect((await upload(stan, "Pictures", { name: "x.png", data: PNG })).status).toBe(403);
    expect((await upload(mia, "Pictures", { name: "x.png", data: PNG }, "../x.png")).status).toBe(400);
    expect((await upload(mia, "Pictures", { name: "empty.txt", data: "" })).status).toBe(400);
    const db = await tenantD1(forge);
    const row = await db
      .prepare("SELECT count(*) AS n FROM wiki_resources WHERE name IN ('x.png', 'empty.txt')")
      .first<{ n: number }>();
    expect(row!.n).toBe(0);
  });
});

describe("the project home's export", () => {
  it("featuredWikiPages lists the Featured pages of one project by title", async () => {
    const { openTenantDb } = await import("../../src/db/tenant-db");
    const { featuredWikiPages } = await import("../../src/services/wiki");
    const db = openTenantDb(await tenantD1(forge));
    const docs = await db.query.projects.findFirst({ where: (p, { eq }) => eq(p.name, "docs") });
    await save(mia, "docs", "Zebra-Guide", { title: "A zebra guide", body: "z\n" }, ["Featured"]);
    const featured = await featuredWikiPages(db, docs!.id);
    expect(featured).toEqual([
      { name: "Zebra-Guide", title: "A zebra guide" },
      { name: "Roadmap", title: "Roadmap" },
    ]);
  });
});
