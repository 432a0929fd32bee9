// isomorphic-git as a second client against the running local forge, beside the real git client:
// it clones, fetches and pushes a repository real git pushed (express), and what each client
// leaves behind passes `git fsck --full`. Also: the packs the forge sends, read with git's own
// tools, put every delta's base before the delta (isomorphic-git breaks otherwise).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs, { writeFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import isogit from "isomorphic-git";
import isoHttp from "isomorphic-git/http/node";
import { request } from "../../bin/cli/http";
import { sharedForge, type RunningForge, type TestTenant } from "./runner";
import { EXPRESS_BUNDLE, expressMirror, git, gitOk, tempDir } from "./git";

let forge: RunningForge;
let tenant: TestTenant;
let port: string;
let mirror: string;
/** A real-git working clone of what the forge holds, for later pushes. */
let work: string;

const plainUrl = () => forge.url(tenant.host, "/express.git");
const pushUrl = () => `http://${tenant.owner.username}:${tenant.owner.token}@${tenant.host}:${port}/express.git`;
/**
 * Node's default agent closes sockets idle for 5 s, which a push answered after longer checks
 * (on a busy machine) would hit: requests get their own agent without that timeout.
 */
const agent = new http.Agent({ keepAlive: false });
const isoHttpNoTimeout = { request: (req: Parameters<typeof isoHttp.request>[0]) => isoHttp.request({ ...req, agent }) };
/** isomorphic-git resolves names with Node, which knows nothing of .localhost: loopback plus a Host header. */
const iso = () => ({
  fs,
  http: isoHttpNoTimeout,
  url: `http://127.0.0.1:${port}/express.git`,
  headers: { host: `${tenant.host}:${port}` },
  onAuth: () => ({ username: tenant.owner.username, password: tenant.owner.token }),
});
const author = { name: "Iso Author", email: "iso@example.com", timestamp: 1_800_000_000, timezoneOffset: 0 };

async function fsckClean(dir: string): Promise<void> {
  const fsck = await git(["fsck", "--full"], { cwd: dir });
  expect(fsck.code, fsck.stderr).toBe(0);
}

async function realGitCommit(dir: string, file: string, content: string, message: string): Promise<string> {
  writeFileSync(join(dir, file), content);
  await gitOk(["add", file], { cwd: dir });
  await gitOk(["commit", "--quiet", "-m", message], { cwd: dir });
  return (await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim();
}

beforeAll(async () => {
  forge = await sharedForge();
  tenant = await forge.createTenant("iso");
  port = String(forge.port);
  mirror = await expressMirror();
  expect((await forge.cli("projects", "create", tenant.slug, "express")).code).toBe(0);
  // Real git pushes the whole of express, then one more commit as a thin pack (which the forge
  // stores completed, with the delta bases appended at its end).
  await gitOk(["push", "--quiet", pushUrl(), "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*"], { cwd: mirror });
  work = join(tempDir("work"), "w");
  await gitOk(["clone", "--quiet", "--branch", "master", EXPRESS_BUNDLE, work]);
  const readme = fs.readFileSync(join(work, "Readme.md"), "utf8");
  await realGitCommit(work, "Readme.md", `${readme}\nOne more line, pushed by real git.\n`, "Edit the README");
  await gitOk(["push", "--quiet", pushUrl(), "HEAD:refs/heads/master"], { cwd: work });
}, 600_000);

afterAll(async () => {
  await forge?.stop();
});

/** Demultiplexes side band 1 (the pack) out of a v0 upload-pack answer. */
function packOf(body: Buffer): Buffer {
  const chunks: Buffer[] = [];
  for (let pos = 0; pos + 4 <= body.length; ) {
    const len = parseInt(body.subarray(pos, pos + 4).toString(), 16);
    if (len >= 5 && body[pos + 4] === 1) chunks.push(body.subarray(pos + 5, pos + len));
    else if (len >= 5 && body[pos + 4] === 3) throw new Error(`upload-pack: ${body.subarray(pos + 5, pos + len)}`);
    pos += Math.max(len, 4);
  }
  return Buffer.concat(chunks);
}

describe("packs the forge sends", () => {
  for (const ofs of [true, false]) {
    it(`put every delta's base before the delta, as git verify-pack reads them (${ofs ? "ofs-delta" : "REF_DELTA only"})`, async () => {
      const refs = await gitOk(["ls-remote", plainUrl(), "refs/heads/*", "refs/tags/*"]);
      const wants = [
        ...new Set(
          refs
            .trim()
            .split("\n")
            .map((l) => l.split("\t")[0]!),
        ),
      ];
      const caps = `multi_ack_detailed side-band-64k no-progress agent=test${ofs ? " ofs-delta" : ""}`;
      const pkt = (s: string) => (s.length + 4).toString(16).padStart(4, "0") + s;
      const body = `${wants.map((w, i) => pkt(`want ${w}${i === 0 ? ` ${caps}` : ""}\n`)).join("")}0000${pkt("done\n")}`;
      const res = await request(forge.url(tenant.host, "/express.git/git-upload-pack"), {
        method: "POST",
        headers: { "content-type": "application/x-git-upload-pack-request" },
        body: Buffer.from(body),
      });
      expect(res.status).toBe(200);
      const dir = tempDir("received");
      const packFile = join(dir, "received.pack");
      writeFileSync(packFile, packOf(res.body));
      await gitOk(["index-pack", packFile]);
      // "<oid> <type> <size> <size in pack> <offset> [<depth> <base oid>]"
      const rows = (await gitOk(["verify-pack", "-v", packFile.replace(/\.pack$/, ".idx")]))
        .split("\n")
        .map((l) => l.split(/\s+/))
        .filter((f) => /^[0-9a-f]{40}$/.test(f[0]!) && f.length >= 5);
      const offset = new Map(rows.map((f) => [f[0]!, Number(f[4])]));
      const deltas = rows.filter((f) => f.length >= 7);
      expect(rows.length).toBeGreaterThan(30_000);
      expect(deltas.length).toBeGreaterThan(1_000);
      const late = deltas.filter((f) => !(offset.get(f[6]!)! < Number(f[4])));
      expect(late.map((f) => `${f[0]} at ${f[4]}: base ${f[6]} at ${offset.get(f[6]!)}`).slice(0, 5)).toEqual([]);
    }, 300_000);
  }
});

describe("isomorphic-git", () => {
  let dir: string;

  it("clones what real git pushed: all branches and tags, fsck-clean", async () => {
    dir = tempDir("iso-clone");
    await isogit.clone({ ...iso(), dir });
    const head = await isogit.resolveRef({ fs, dir, ref: "HEAD" });
    expect(head).toBe((await gitOk(["rev-parse", "HEAD"], { cwd: work })).trim());
    const branches = await isogit.listBranches({ fs, dir, remote: "origin" });
    expect(branches).toContain("4.x");
    const tags = await isogit.listTags({ fs, dir });
    expect(tags).toContain("4.0.0");
    await fsckClean(dir);
  }, 600_000);

  it("fetches a commit real git pushed after the clone", async () => {
    const next = await realGitCommit(work, "History.md", "a line real git added after the clone\n", "Another commit");
    await gitOk(["push", "--quiet", pushUrl(), "HEAD:refs/heads/master"], { cwd: work });
    const fetched = await isogit.fetch({ ...iso(), dir, ref: "master", singleBranch: true, tags: false });
    expect(fetched.fetchHead).toBe(next);
    expect(await isogit.resolveRef({ fs, dir, ref: "refs/remotes/origin/master" })).toBe(next);
    await fsckClean(dir);
  }, 300_000);

  it("pushes a new commit and a new branch; real git clones the result fsck-clean", async () => {
    await isogit.checkout({ fs, dir, ref: "master", force: true });
    await isogit.merge({ fs, dir, ours: "master", theirs: "remotes/origin/master", fastForwardOnly: true, author });
    await isogit.checkout({ fs, dir, ref: "master", force: true });
    writeFileSync(join(dir, "iso.txt"), "written by isomorphic-git\n");
    await isogit.add({ fs, dir, filepath: "iso.txt" });
    const onMaster = await isogit.commit({ fs, dir, message: "A commit isomorphic-git made", author });
    const pushed = await isogit.push({ ...iso(), dir, ref: "master", remoteRef: "refs/heads/master" });
    expect(pushed.ok, JSON.stringify(pushed)).toBe(true);

    await isogit.branch({ fs, dir, ref: "iso-branch", checkout: true });
    writeFileSync(join(dir, "iso.txt"), "written by isomorphic-git, on its own branch\n");
    await isogit.add({ fs, dir, filepath: "iso.txt" });
    const onBranch = await isogit.commit({ fs, dir, message: "A branch isomorphic-git made", author });
    const pushedBranch = await isogit.push({ ...iso(), dir, ref: "iso-branch", remoteRef: "refs/heads/iso-branch" });
    expect(pushedBranch.ok, JSON.stringify(pushedBranch)).toBe(true);
    await fsckClean(dir);

    const clone = join(tempDir("verify"), "v.git");
    await gitOk(["clone", "--quiet", "--mirror", plainUrl(), clone]);
    await fsckClean(clone);
    expect((await gitOk(["rev-parse", "refs/heads/master"], { cwd: clone })).trim()).toBe(onMaster);
    expect((await gitOk(["rev-parse", "refs/heads/iso-branch"], { cwd: clone })).trim()).toBe(onBranch);
    expect((await gitOk(["show", "refs/heads/iso-branch:iso.txt"], { cwd: clone })).trim()).toBe(
      "written by isomorphic-git, on its own branch",
    );
    // And isomorphic-git clones it again, from scratch (two pushes' packs now), fsck-clean.
    const again = tempDir("iso-again");
    await isogit.clone({ ...iso(), dir: again, ref: "iso-branch", singleBranch: true });
    expect(await isogit.resolveRef({ fs, dir: again, ref: "HEAD" })).toBe(onBranch);
    await fsckClean(again);
  }, 600_000);
});
