// Backup and restore end to end on the local forge: a tenant with a pushed repository (real git),
// issues with comments and an attachment, and an avatar is exported with `forge tenants export`,
// deleted, and imported with `forge tenants import`; API answers, pages and git's view of the
// repository (mirror clone, for-each-ref, fsck) are the same as before. An archive over 64 MiB
// goes up in parts and restores beside its original with its 70 MiB attachment intact.
import { beforeAll, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "../../bin/cli/http";
import { sharedForge, until, type RunningForge, type TestTenant } from "./runner";
import { gitOk, tempDir } from "./git";

let forge: RunningForge;
let tenant: TestTenant;
/** Where issue 1's attachment is downloaded (its id is kept by the restore). */
let attachmentPath: string;

const url = (path: string) => forge.url(tenant.host, path);
const api = (method: string, path: string, body?: string | Buffer, type = "application/json") =>
  request(url(path), {
    method,
    headers: { authorization: `token ${tenant.owner.token}`, ...(body === undefined ? {} : { "content-type": type }) },
    body,
  });

/** A page as text without what differs per request or per clock tick (nonces, "n minutes ago"). */
function normalized(html: string): string {
  return html
    .replace(/nonce="[^"]*"/g, 'nonce=""')
    .replace(/\b(?:\d+|an?) (?:second|minute|hour)s? ago\b|\bjust now\b/g, "a moment ago");
}

const PAGES = [
  "/p/app/",
  "/p/app/issues/",
  "/p/app/issues/1",
  "/p/app/issues/2",
  "/u/keeper",
  "/p/app/source/log/main",
  "/p/app/source/branches",
  "/p/app/source/tags",
  "/p/app/source/blob/main/README.md",
];
const API = [
  "/api/v1/projects/app",
  "/api/v1/projects/app/issues?state=all",
  "/api/v1/projects/app/issues/1/comments",
  "/api/v1/user",
  // Full-text search: the index is not in the archive; the restored rows rebuild it.
  "/api/v1/projects/app/issues?state=all&q=bold",
  "/api/v1/projects/app/issues?state=all&q=comment",
];

interface Observed {
  api: string[];
  pages: string[];
  avatar: string;
  attachment: string;
  refs: string;
  fsck: string;
  objects: string;
}

async function observe(): Promise<Observed> {
  const apiAnswers = [];
  for (const p of API) {
    const res = await api("GET", p);
    expect(res.status, p).toBe(200);
    if (p.includes("q=")) expect(JSON.parse(res.text()), p).toHaveLength(1);
    apiAnswers.push(res.text());
  }
  const pages = [];
  for (const p of PAGES) {
    const res = await request(url(p));
    expect(res.status, p).toBe(200);
    pages.push(normalized(res.text()));
  }
  const avatar = await request(url("/u/keeper/avatar"));
  expect(avatar.status).toBe(200);
  const attachment = await request(url(attachmentPath));
  const mirror = join(tempDir("backup-mirror"), "app.git");
  await gitOk(["clone", "--quiet", "--mirror", url("/app.git"), mirror]);
  return {
    api: apiAnswers,
    pages,
    avatar: avatar.body.toString("base64"),
    attachment: `${attachment.status} ${attachment.body.toString("utf8")}`,
    refs: await gitOk(["for-each-ref", "--format=%(objectname) %(objecttype) %(refname)"], { cwd: mirror }),
    fsck: await gitOk(["fsck", "--full", "--strict"], { cwd: mirror }),
    objects: (await gitOk(["cat-file", "--batch-all-objects", "--batch-check"], { cwd: mirror })).split("\n").sort().join("\n"),
  };
}

// A 1×1 PNG.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

async function uploadAvatar(): Promise<void> {
  const login = await request(url("/account/login"), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ login: "keeper", password: tenant.owner.password, next: "/" }).toString(),
  });
  const cookie = [login.headers["set-cookie"] ?? []]
    .flat()
    .map((c) => c.split(";")[0])
    .join("; ");
  expect(cookie, login.text()).not.toBe("");
  const boundary = "backup-boundary";
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="avatar"; filename="me.png"\r\nContent-Type: image/png\r\n\r\n`,
    ),
    PNG,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const res = await request(url("/account/avatar"), {
    method: "POST",
    headers: { cookie, "content-type": `multipart/form-data; boundary=${boundary}` },
    body,
  });
  expect(res.status, res.text()).toBeLessThan(400);
}

beforeAll(async () => {
  forge = await sharedForge();
  tenant = await forge.createTenant("backup", { username: "keeper", password: "keeper-password", email: "keeper@example.com" });
  const r = await forge.cli("projects", "create", tenant.slug, "app", "--description", "Kept safe");
  expect(r.code, r.stderr).toBe(0);

  const work = join(tempDir("backup-work"), "w");
  await gitOk(["init", "--quiet", "-b", "main", work]);
  const commit = async (file: string, content: string, message: string) => {
    writeFileSync(join(work, file), content);
    await gitOk(["add", file], { cwd: work });
    await gitOk(["commit", "--quiet", "-m", message], { cwd: work });
  };
  await commit("README.md", "# App\n\nKept in a backup.\n", "Start");
  await commit("main.c", "int main(void) { return 0; }\n", "Add main (refs #1)");
  await gitOk(["tag", "-a", "v1.0", "-m", "first release"], { cwd: work });
  await gitOk(["checkout", "--quiet", "-b", "topic"], { cwd: work });
  await commit("topic.txt", "on a branch\n", "Topic work");

  expect(
    (await api("POST", "/api/v1/projects/app/issues", JSON.stringify({ title: "First", body: "Something **bold**" }))).status,
  ).toBe(201);
  expect((await api("POST", "/api/v1/projects/app/issues", JSON.stringify({ title: "Second", body: "More" }))).status).toBe(201);
  expect((await api("POST", "/api/v1/projects/app/issues/1/comments", JSON.stringify({ body: "A comment" }))).status).toBe(201);
  const attached = await api("POST", "/api/v1/projects/app/issues/1/attachments?name=trace.txt", "stack trace\n", "text/plain");
  expect(attached.status, attached.text()).toBe(201);
  attachmentPath = new URL((JSON.parse(attached.text()) as { browser_download_url: string }[])[0]!.browser_download_url).pathname;
  await uploadAvatar();

  const push = `http://keeper:${tenant.owner.token}@${tenant.host}:${forge.port}/app.git`;
  await gitOk(["push", "--quiet", push, "main", "topic", "v1.0"], { cwd: work });
  // The push's timeline event and its "refs #1" comment are written by the post-push queue.
  await until("the push's comment on issue 1", async () => {
    const res = await api("GET", "/api/v1/projects/app/issues/1");
    return (JSON.parse(res.text()) as { comments: number }).comments >= 2 ? true : null;
  });
}, 180_000);

describe("tenants export and import", () => {
  it("round-trips a tenant exactly: API answers, pages, avatar, attachment and the repository", async () => {
    const before = await observe();
    const file = join(tempDir("backup-file"), `${tenant.slug}.tar`);
    let r = await forge.cli("tenants", "export", tenant.slug, file);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(file).size).toBeGreaterThan(0);
    expect(readFileSync(file).subarray(257, 262).toString()).toBe("ustar");

    r = await forge.cli("tenants", "delete", tenant.slug, "--confirm", tenant.slug);
    expect(r.code, r.stderr).toBe(0);
    expect((await request(url("/"))).status).toBe(404);

    r = await forge.cli("tenants", "import", file, "--json");
    expect(r.code, r.stderr).toBe(0);
    const restored = JSON.parse(r.stdout) as { slug: string; hosts: string[]; repositories: number };
    expect(restored).toMatchObject({ slug: tenant.slug, hosts: [tenant.host], repositories: 1 });

    const after = await observe();
    expect(after.api).toEqual(before.api);
    expect(after.pages).toEqual(before.pages);
    expect(after.avatar).toBe(before.avatar);
    expect(after.attachment).toBe(before.attachment);
    expect(after.attachment).toContain("200 stack trace");
    expect(after.refs).toBe(before.refs);
    expect(after.refs).toContain("refs/tags/v1.0");
    expect(after.fsck).toBe(before.fsck);
    expect(after.objects).toBe(before.objects);

    // The same archive again: its slug and host are taken now.
    r = await forge.cli("tenants", "import", file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already exists.*HTTP 409/);
  });

  it("restores an archive over 64 MiB, uploaded in parts, with a 70 MiB attachment intact (workerd at 128 MB)", async () => {
    const big = await forge.createTenant("backup-big");
    const call = (method: string, path: string, body?: string | Buffer, type = "application/json") =>
      request(forge.url(big.host, path), {
        method,
        headers: { authorization: `token ${big.owner.token}`, ...(body === undefined ? {} : { "content-type": type }) },
        body,
      });
    let r = await forge.cli("projects", "create", big.slug, "data");
    expect(r.code, r.stderr).toBe(0);
    expect((await call("POST", "/api/v1/projects/data/issues", JSON.stringify({ title: "Big file" }))).status).toBe(201);
    const bytes = randomBytes(70 * 1024 * 1024);
    const attached = await call(
      "POST",
      "/api/v1/projects/data/issues/1/attachments?name=big.bin",
      bytes,
      "application/octet-stream",
    );
    expect(attached.status, attached.text()).toBe(201);
    const path = new URL((JSON.parse(attached.text()) as { browser_download_url: string }[])[0]!.browser_download_url).pathname;

    const file = join(tempDir("backup-big"), "big.tar");
    r = await forge.cli("tenants", "export", big.slug, file);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(file).size).toBeGreaterThan(70 * 1024 * 1024);
    // Restored beside the original, under another slug and host (the first test covers delete and restore).
    const copy = `${big.slug}-copy`;
    r = await forge.cli("tenants", "import", file, "--as", copy, "--host", `${copy}.localhost`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("uploaded part 2 of 2");

    const download = await request(forge.url(`${copy}.localhost`, path), {
      headers: { authorization: `token ${big.owner.token}` },
    });
    expect(download.status).toBe(200);
    const digest = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    expect(digest(download.body)).toBe(digest(bytes));
  });
});
