// Issue 17's patch acceptance with the real git client on the local forge: a series made by
// `git format-patch` (a changed, a new and a deleted file, a rename, a mode change, CRLF lines, a
// file without a final newline, Latin-1 bytes; three patches, a non-ASCII author) is uploaded
// through the New review page's patch form; the review's diff stat is `git apply --stat`'s; the
// hidden ref is not advertised; applying it (fast-forward) gives main the very tree, authors and
// messages `git am` makes of the same series on a clone; a fresh clone passes `git fsck --strict`.
import { beforeAll, describe, expect, it } from "vitest";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "../../bin/cli/http";
import { sharedForge, type RunningForge, type TestTenant } from "./runner";
import { git, gitOk, tempDir } from "./git";

const PROJECT = "patched";

let forge: RunningForge;
let tenant: TestTenant;
let work: string;
let series: Buffer;
let cookie: string;
let reviewPath: string;

const url = (path: string) => forge.url(tenant.host, path);

function pushUrl(): string {
  const u = new URL(url(`/${PROJECT}.git`));
  u.username = tenant.owner.username;
  u.password = tenant.owner.token;
  return u.toString();
}

function write(file: string, content: string | Buffer): void {
  writeFileSync(join(work, file), content);
}

async function commit(message: string, author?: { who: string; date: string }): Promise<void> {
  await gitOk(["add", "-A"], { cwd: work });
  const args = ["commit", "--quiet", "-m", message, ...(author ? [`--author=${author.who}`, `--date=${author.date}`] : [])];
  await gitOk(args, { cwd: work });
}

/** "N files changed, X insertions(+), Y deletions(-)" as numbers. */
function stat(line: string): { files: number; added: number; removed: number } {
  const n = (re: RegExp) => Number(re.exec(line)?.[1] ?? 0);
  return { files: n(/(\d+) files? changed/), added: n(/(\d+) insertions?\(\+\)/), removed: n(/(\d+) deletions?\(/) };
}

beforeAll(async () => {
  forge = await sharedForge();
  tenant = await forge.createTenant("patches");
  const made = await forge.cli("projects", "create", tenant.slug, PROJECT);
  expect(made.code, made.stderr).toBe(0);
  work = join(tempDir("patches"), "w");
  await gitOk(["init", "--quiet", "-b", "main", work]);
  await gitOk(["config", "user.name", "Ada Lovelace"], { cwd: work });
  await gitOk(["config", "user.email", "ada@example.com"], { cwd: work });
  write("app.txt", "one\ntwo\nthree\nfour\nfive\n");
  write("gone.txt", "to be deleted\n");
  write("old-name.txt", "keep me\nline two\n");
  write("run.sh", "#!/bin/sh\necho hi\n");
  write("crlf.txt", "a\r\nb\r\nc\r\n");
  write("noeol.txt", "first\nlast");
  write("latin1.txt", Buffer.from("caf\xe9\n", "latin1"));
  await commit("Base");
  await gitOk(["push", "--quiet", pushUrl(), "main"], { cwd: work });
  // The contributor's series, on a topic branch that is never pushed.
  await gitOk(["checkout", "--quiet", "-b", "topic"], { cwd: work });
  write("app.txt", "one\nTWO\nthree\nfour\nfive\n");
  write("new.txt", "a new file\n");
  await gitOk(["rm", "--quiet", "gone.txt"], { cwd: work });
  await commit("Shout two, add a file, drop another\n\nWhy: the body of the message.", {
    who: "Zoë Contributor <zoe@example.org>",
    date: "2026-11-03T10:00:00+02:00",
  });
  await gitOk(["mv", "old-name.txt", "renamed.txt"], { cwd: work });
  chmodSync(join(work, "run.sh"), 0o755);
  await commit("Rename a file and make run.sh executable", {
    who: "Zoë Contributor <zoe@example.org>",
    date: "2026-11-03T11:00:00+02:00",
  });
  write("crlf.txt", "a\r\nB\r\nc\r\n");
  write("noeol.txt", "first\nLAST");
  write("latin1.txt", Buffer.from("caf\xe9 cr\xe8me\n", "latin1"));
  await commit("Edit CRLF, no-newline and Latin-1 files", { who: "Bob <bob@example.net>", date: "2026-11-04T09:30:00-05:00" });
  // The series as bytes (git's output is not all UTF-8): format-patch's files, in order.
  const out = tempDir("series");
  const files = (await gitOk(["format-patch", "-o", out, "main..topic"], { cwd: work })).trim().split("\n");
  expect(files).toHaveLength(3);
  series = Buffer.concat(files.map((f) => readFileSync(f)));
  const login = await request(url("/account/login"), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ login: tenant.owner.username, password: tenant.owner.password, next: "/" }).toString(),
  });
  cookie = [login.headers["set-cookie"] ?? []]
    .flat()
    .map((c) => c.split(";")[0])
    .join("; ");
  expect(cookie).not.toBe("");
}, 180_000);

describe("a patch review from git format-patch (issue 17's acceptance)", () => {
  it("opens from the uploaded series and shows git apply --stat's diff", async () => {
    const boundary = "patch-series-boundary";
    const field = (name: string, value: string) =>
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
    const body = Buffer.concat([
      field("patch_target", "main"),
      field("patch_title", ""),
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="series"; filename="series.mbox"\r\nContent-Type: text/plain\r\n\r\n`,
      ),
      series,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await request(url(`/p/${PROJECT}/reviews/new/patches`), {
      method: "POST",
      headers: { cookie, "content-type": `multipart/form-data; boundary=${boundary}` },
      body,
    });
    expect(res.status, res.text().slice(0, 2000)).toBe(303);
    reviewPath = new URL(String(res.headers.location), url("/")).pathname;
    const page = (await request(url(reviewPath), { headers: { cookie } })).text();
    // git apply --stat of the same series (each file is touched by one patch: the sums are the review's).
    const seriesFile = join(tempDir("apply"), "series.mbox");
    writeFileSync(seriesFile, series);
    const applyStat = (await gitOk(["apply", "--stat", seriesFile], { cwd: work })).trim().split("\n");
    const expected = applyStat.filter((l) => / changed/.test(l)).map(stat);
    const total = expected.reduce((a, s) => ({
      files: a.files + s.files,
      added: a.added + s.added,
      removed: a.removed + s.removed,
    }));
    const shown = /<p class="diffstat">([^<]*<span class="add">[^<]*<\/span>, <span class="del">[^<]*)</.exec(page);
    expect(shown, page.slice(0, 3000)).not.toBeNull();
    expect(stat(shown![1]!.replace(/<[^>]*>/g, ""))).toEqual(total);
    // The same files (git apply --stat names a renamed file by its new name; the forge "old → new").
    const gitPaths = applyStat
      .filter((l) => l.includes("|"))
      .map((l) => l.split("|")[0]!.trim())
      .sort();
    const forgePaths = [...page.matchAll(/<td class="chg chg-[A-Z]">[a-z ]+<td><a href="#f\d+">([^<]*)<\/a>/g)]
      .map((m) => m[1]!.replace(/^.* → /, ""))
      .sort();
    expect(page).toContain("old-name.txt → renamed.txt");
    expect(forgePaths).toEqual(gitPaths);
    expect(page).toContain("Zoë Contributor");
    expect(page).toContain("asks to apply a series of 3 patches");
    // Fetches do not see the series' hidden ref.
    const remote = await gitOk(["ls-remote", pushUrl()], { cwd: work });
    expect(remote).toContain("refs/heads/main");
    expect(remote).not.toContain("refs/reviews/");
  });

  it("applies to git am's tree, with its authors and messages, and a fresh clone passes git fsck --strict", async () => {
    const res = await request(url(`${reviewPath}/merge`), {
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: "",
    });
    expect(res.status, res.text().slice(0, 2000)).toBe(303);
    // git am of the same series on a clone of main.
    const am = join(tempDir("am"), "am");
    await gitOk(["clone", "--quiet", "--branch", "main", work, am]);
    const seriesFile = join(tempDir("am-series"), "series.mbox");
    writeFileSync(seriesFile, series);
    // --keep-cr: by default git am's mailsplit drops the CR of CRLF lines, and crlf.txt's patch
    // would not apply; the forge keeps the bytes as format-patch wrote them.
    await gitOk(["am", "--quiet", "--keep-cr", seriesFile], { cwd: am });
    const fresh = join(tempDir("fresh"), "fresh");
    await gitOk(["clone", "--quiet", pushUrl(), fresh]);
    const tree = async (dir: string) => (await gitOk(["rev-parse", "HEAD^{tree}"], { cwd: dir })).trim();
    expect(await tree(fresh)).toBe(await tree(am));
    const log = (dir: string) => gitOk(["log", "--format=%an <%ae> %ad%n%B", "--date=raw", "-3"], { cwd: dir });
    expect(await log(fresh)).toBe(await log(am));
    const committer = await gitOk(["log", "--format=%ce", "-1"], { cwd: fresh });
    expect(committer.trim()).toBe(tenant.owner.email);
    const fsck = await git(["fsck", "--strict"], { cwd: fresh });
    expect(fsck.code, fsck.stderr).toBe(0);
    // The hidden ref stays hidden after the merge too.
    expect(await gitOk(["ls-remote", pushUrl()], { cwd: work })).not.toContain("refs/reviews/");
  });
});
