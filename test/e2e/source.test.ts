// The repository browser on the local forge with the express fixture, checked against git itself:
// listings (ls-tree), logs (git log, with and without a path), last commits (git log -1 -- path),
// blame, raw files, .patch files that git applies to the exact tree, archives equal to
// `git archive`, branches and tags.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "../../bin/cli/http";
import { sharedForge, type RunningForge, type TestTenant } from "./runner";
import { EXPRESS_BUNDLE, expressMirror, git, gitOk, tempDir } from "./git";

let forge: RunningForge;
let tenant: TestTenant;
let mirror: string;
let HOST: string;

async function get(
  path: string,
): Promise<{ status: number; body: Buffer; headers: Record<string, string | string[] | undefined> }> {
  const res = await request(forge.url(HOST, path));
  return { status: res.status, body: res.body, headers: res.headers };
}

async function html(path: string): Promise<string> {
  const res = await get(path);
  expect(res.status, path).toBe(200);
  return res.body.toString("utf8");
}

const commitLinks = (body: string) =>
  [...body.matchAll(/href="\/p\/express\/source\/commit\/([0-9a-f]{40})">[0-9a-f]{7}</g)].map((m) => m[1]!);
const unescapeHtml = (s: string) =>
  s
    .replace(/&amp;/g, "&")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">");

beforeAll(async () => {
  forge = await sharedForge();
  tenant = await forge.createTenant("source");
  HOST = tenant.host;
  mirror = await expressMirror();
  expect((await forge.cli("projects", "create", tenant.slug, "express")).code).toBe(0);
  const imported = await forge.cli("repos", "import", tenant.slug, "express", EXPRESS_BUNDLE);
  expect(imported.code, imported.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  await forge?.stop();
});

describe("listings", () => {
  for (const [rev, path] of [
    ["master", ""],
    ["master", "lib"],
    ["4.x", "test/fixtures"],
    ["4.0.0", "lib/router"],
  ] as const) {
    it(`lists ${rev}:${path || "/"} as git ls-tree does`, async () => {
      const body = await html(`/p/express/source/tree/${rev}/${path}`);
      const shown = [...body.matchAll(/<tr data-entry="([^"]+)">/g)].map((m) => unescapeHtml(m[1]!)).sort();
      const want = (await gitOk(["ls-tree", "-z", "--name-only", `${rev}:${path}`], { cwd: mirror }))
        .split("\0")
        .filter(Boolean)
        .sort();
      expect(shown).toEqual(want);
    });
  }

  it("shows each entry's last commit as git log -1 -- <path> does", async () => {
    // The walk runs in the background on first sight; the JSON follow-up says when it is done.
    const commit = (await gitOk(["rev-parse", "master"], { cwd: mirror })).trim();
    await html(`/p/express/source/tree/master/lib`);
    let done = false;
    for (let i = 0; i < 600 && !done; i++) {
      const res = await get(`/p/express/source/last-commits/${commit}/lib`);
      done = JSON.parse(res.body.toString()).complete === true;
      if (!done) await new Promise((r) => setTimeout(r, 100));
    }
    expect(done).toBe(true);
    const res = await get(`/p/express/source/tree/master/lib`);
    expect(res.headers["cache-control"]).toBe("no-cache");
    const body = res.body.toString();
    const rows = [...body.matchAll(/<tr data-entry="([^"]+)">(.*?)<\/tr>/gs)];
    expect(rows.length).toBeGreaterThan(3);
    for (const [, name, row] of rows) {
      const want = (await gitOk(["log", "-1", "--format=%H", "master", "--", `lib/${name}`], { cwd: mirror })).trim();
      expect(/commit\/([0-9a-f]{40})/.exec(row!)?.[1], name).toBe(want);
    }
  });
});

describe("logs", () => {
  async function walk(start: string, pages: number): Promise<string[]> {
    const seen: string[] = [];
    let url: string | null = start;
    for (let i = 0; i < pages && url; i++) {
      const body = await html(url);
      seen.push(...commitLinks(body));
      url = /<a href="([^"]+)" rel="next">/.exec(body)?.[1] ?? null;
      if (url) url = unescapeHtml(url);
    }
    return seen;
  }

  it("pages through a branch's log in git log order", async () => {
    const seen = await walk("/p/express/source/log/master", 4);
    expect(seen).toHaveLength(200);
    const want = (await gitOk(["log", "--format=%H", "-n", "200", "master"], { cwd: mirror })).trim().split("\n");
    expect(seen).toEqual(want);
  });

  for (const path of ["lib/router", "Readme.md", "test/app.router.js"]) {
    it(`shows the history of ${path} as git log -- ${path} does`, async () => {
      const seen = await walk(`/p/express/source/log/master/${path}`, 3);
      const want = (await gitOk(["log", "--format=%H", "master", "--", path], { cwd: mirror })).trim().split("\n");
      expect(seen.length).toBeGreaterThan(0);
      expect(seen).toEqual(want.slice(0, seen.length));
    });
  }
});

describe("files", () => {
  it("serves raw files byte for byte", async () => {
    for (const path of ["package.json", "lib/application.js", "test/fixtures/blog/post/index.tmpl"]) {
      const res = await get(`/p/express/source/raw/master/${path}`);
      expect(res.status, path).toBe(200);
      const want = execFileSync("git", ["show", `master:${path}`], { cwd: mirror });
      expect(res.body.equals(want), path).toBe(true);
    }
  });

  it("sends a page kept for anonymous visitors whole, with its Content-Length, time after time", async () => {
    const path = "/p/express/source/blob/master/lib/application.js";
    const first = await get(path);
    expect(first.status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const again = await get(path);
      expect(String(again.headers["server-timing"])).toContain("page-cache-hit");
      expect(again.headers["transfer-encoding"]).toBeUndefined();
      expect(again.headers["content-length"]).toBe(String(first.body.length));
      expect(again.body.equals(first.body)).toBe(true);
    }
  });

  it("blames lines as git blame does (all but a few: diff alignment can differ on ambiguous lines)", async () => {
    for (const path of ["lib/application.js", "lib/express.js", "package.json"]) {
      let body = await html(`/p/express/source/blame/master/${path}`);
      for (let i = 0; body.includes("still searching") && i < 300; i++) {
        await new Promise((r) => setTimeout(r, 100));
        body = await html(`/p/express/source/blame/master/${path}`);
      }
      const rows = [...body.matchAll(/<tr id=L\d+[^>]*><td class=bl>(.*?)<td class=ln>/g)];
      let current = "";
      const ours = rows.map((r) => (current = /commit\/([0-9a-f]{40})/.exec(r[1]!)?.[1] ?? current));
      const porcelain = await gitOk(["blame", "--porcelain", "master", "--", path], { cwd: mirror });
      const theirs = [...porcelain.matchAll(/^([0-9a-f]{40}) \d+ \d+/gm)].map((m) => m[1]!);
      expect(ours).toHaveLength(theirs.length);
      const same = ours.filter((c, i) => c === theirs[i]).length;
      expect(same / theirs.length, path).toBeGreaterThan(0.9);
    }
  });
});

describe("commits", () => {
  it("writes .patch files that git applies to the commit's exact tree", async () => {
    const commits = (await gitOk(["rev-list", "--no-merges", "--max-count=400", "master"], { cwd: mirror })).trim().split("\n");
    const sample = commits.filter((_, i) => i % 40 === 3);
    const work = tempDir("patch");
    for (const sha of sample) {
      const res = await get(`/p/express/source/commit/${sha}.patch`);
      expect(res.status).toBe(200);
      const file = join(work, `${sha}.patch`);
      writeFileSync(file, res.body);
      const env = { GIT_INDEX_FILE: join(work, `index-${sha}`) };
      await gitOk(["read-tree", `${sha}^`], { cwd: mirror, env });
      const applied = await git(["apply", "--cached", file], { cwd: mirror, env });
      expect(applied.code, `${sha}: ${applied.stderr}`).toBe(0);
      const tree = (await gitOk(["write-tree"], { cwd: mirror, env })).trim();
      expect(tree, sha).toBe((await gitOk(["rev-parse", `${sha}^{tree}`], { cwd: mirror })).trim());
    }
  });

  it("shows a commit's message and changed files", async () => {
    const sha = (await gitOk(["rev-list", "--no-merges", "-n", "1", "master"], { cwd: mirror })).trim();
    const body = await html(`/p/express/source/commit/${sha}`);
    const subject = (await gitOk(["log", "-1", "--format=%s", sha], { cwd: mirror })).trim();
    expect(unescapeHtml(body)).toContain(subject);
    for (const file of (await gitOk(["diff-tree", "--no-commit-id", "--name-only", "-r", sha], { cwd: mirror }))
      .trim()
      .split("\n")) {
      expect(unescapeHtml(body)).toContain(file);
    }
  });
});

describe("refs and archives", () => {
  it("lists every branch and tag", async () => {
    const branches = unescapeHtml(await html("/p/express/source/branches"));
    for (const b of (await gitOk(["for-each-ref", "--format=%(refname:short)", "refs/heads"], { cwd: mirror }))
      .trim()
      .split("\n")) {
      expect(branches).toContain(`>${b}<`);
    }
    let tags = "";
    for (let page = 1; page <= 4; page++) tags += unescapeHtml(await html(`/p/express/source/tags?page=${page}`));
    for (const t of (await gitOk(["for-each-ref", "--format=%(refname:short)", "refs/tags"], { cwd: mirror }))
      .trim()
      .split("\n")) {
      expect(tags).toContain(`>${t}<`);
    }
  });

  for (const [rev, format] of [
    ["4.x", "tar.gz"],
    ["v5.0.0", "zip"],
  ] as const) {
    it(`serves ${rev}.${format} that unpacks to what git archive gives`, async () => {
      const res = await get(`/p/express/source/archive/${rev}.${format}`);
      expect(res.status).toBe(200);
      const dir = tempDir("archive");
      const file = join(dir, `a.${format}`);
      writeFileSync(file, res.body);
      const ours = join(dir, "ours");
      const theirs = join(dir, "theirs");
      mkdirSync(ours);
      mkdirSync(theirs);
      if (format === "zip") execFileSync("unzip", ["-q", file, "-d", ours]);
      else execFileSync("tar", ["-xzf", file, "-C", ours]);
      execFileSync("sh", [
        "-c",
        `git -C '${mirror}' archive --format=tar --prefix=express-${rev}/ ${rev} | tar -x -C '${theirs}'`,
      ]);
      const diff = await git(["diff", "--no-index", "--stat", join(theirs, `express-${rev}`), join(ours, `express-${rev}`)]);
      expect(diff.stdout + diff.stderr).toBe("");
      expect(diff.code).toBe(0);
    });
  }
});
