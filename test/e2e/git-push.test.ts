// Pushing with the real git client to the running local forge: whole repositories, every kind of
// ref update, leases, atomic pushes, protected branches, thin packs, chunked bodies, quotas,
// authentication, concurrency, faults mid-push and malformed requests.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { request } from "../../bin/cli/http";
import { startForge, type RunningForge } from "./runner";
import { EXPRESS_BUNDLE, git, gitOk, objectList, tempDir } from "./git";

let forge: RunningForge;
let port: string;

beforeAll(async () => {
  forge = await startForge({ env: { FORGE_ALLOW_FAULTS: "1" } });
  port = String(forge.port);
}, 120_000);

afterAll(async () => {
  await forge?.stop();
});

const plainUrl = (project: string) => forge.url("demo.localhost", `/${project}.git`);
const pushUrl = (project: string, user = "demo", token = forge.demoToken) =>
  `http://${user}:${token}@demo.localhost:${port}/${project}.git`;

async function newProject(name: string, opts: string[] = []): Promise<void> {
  const r = await forge.cli("projects", "create", "demo", name, ...opts);
  expect(r.code, r.stderr).toBe(0);
}

async function remoteRefs(project: string): Promise<Map<string, string>> {
  const out = await gitOk(["ls-remote", plainUrl(project)]);
  return new Map(
    out
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const [oid, name] = l.split("\t");
        return [name!, oid!];
      }),
  );
}

async function workRepo(name: string): Promise<string> {
  const dir = join(tempDir(name), "w");
  await gitOk(["init", "--quiet", "-b", "main", dir]);
  return dir;
}

async function commit(dir: string, file: string, content: string, message = `edit ${file}`): Promise<string> {
  writeFileSync(join(dir, file), content);
  await gitOk(["add", file], { cwd: dir });
  await gitOk(["commit", "--quiet", "-m", message], { cwd: dir });
  return (await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim();
}

async function freshCloneIsClean(project: string): Promise<string> {
  const dir = join(tempDir("verify"), "v.git");
  await gitOk(["clone", "--quiet", "--mirror", plainUrl(project), dir]);
  const fsck = await git(["fsck", "--full", "--strict"], { cwd: dir });
  expect(fsck.code, fsck.stderr).toBe(0);
  return dir;
}

async function apiPatchProject(project: string, body: unknown) {
  return request(forge.url("demo.localhost", `/api/v1/projects/${project}`), {
    method: "PATCH",
    headers: { authorization: `token ${forge.demoToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

describe("push", () => {
  it("pushes a whole repository (--mirror); a fresh clone is fsck-clean with the same objects", async () => {
    await newProject("express");
    const source = join(tempDir("src"), "express.git");
    await gitOk(["clone", "--quiet", "--mirror", EXPRESS_BUNDLE, source]);
    const pushed = await git(["push", "--mirror", pushUrl("express")], { cwd: source });
    expect(pushed.code, pushed.stderr).toBe(0);
    const clone = await freshCloneIsClean("express");
    expect(await objectList(clone)).toEqual(await objectList(source));
    expect((await gitOk(["symbolic-ref", "HEAD"], { cwd: clone })).trim()).toBe("refs/heads/master");
  }, 300_000);

  it("creates, fast-forwards, force-pushes and deletes branches and tags", async () => {
    await newProject("life");
    const dir = await workRepo("life");
    const a = await commit(dir, "a.txt", "one\n");
    await gitOk(["push", "--quiet", pushUrl("life"), "main"], { cwd: dir });
    expect((await remoteRefs("life")).get("refs/heads/main")).toBe(a);
    expect((await remoteRefs("life")).get("HEAD")).toBe(a);
    const b = await commit(dir, "a.txt", "one\ntwo\n");
    await gitOk(["push", "--quiet", pushUrl("life"), "main"], { cwd: dir });
    expect((await remoteRefs("life")).get("refs/heads/main")).toBe(b);
    // A new branch at a commit the forge has already: an empty pack.
    await gitOk(["push", "--quiet", pushUrl("life"), "main:refs/heads/feature"], { cwd: dir });
    expect((await remoteRefs("life")).get("refs/heads/feature")).toBe(b);
    // Rewrite history and force it.
    await gitOk(["commit", "--quiet", "--amend", "-m", "rewritten"], { cwd: dir });
    const b2 = (await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim();
    const refused = await git(["push", pushUrl("life"), "main"], { cwd: dir });
    expect(refused.code).not.toBe(0);
    await gitOk(["push", "--quiet", "--force", pushUrl("life"), "main"], { cwd: dir });
    expect((await remoteRefs("life")).get("refs/heads/main")).toBe(b2);
    // Tags: annotated (peeled in the advertisement) and lightweight.
    await gitOk(["tag", "-a", "v1", "-m", "version 1", a], { cwd: dir });
    await gitOk(["tag", "light", b2], { cwd: dir });
    await gitOk(["push", "--quiet", pushUrl("life"), "--tags"], { cwd: dir });
    const refs = await remoteRefs("life");
    expect(refs.get("refs/tags/v1^{}")).toBe(a);
    expect(refs.get("refs/tags/light")).toBe(b2);
    await gitOk(["push", "--quiet", pushUrl("life"), ":refs/heads/feature", ":refs/tags/light"], { cwd: dir });
    const after = await remoteRefs("life");
    expect(after.has("refs/heads/feature")).toBe(false);
    expect(after.has("refs/tags/light")).toBe(false);
    expect(after.get("refs/tags/v1")).toBeTruthy();
    await freshCloneIsClean("life");
  });

  it("answers ng stale info for --force-with-lease with a stale lease", async () => {
    await newProject("lease");
    const one = await workRepo("lease1");
    const base = await commit(one, "f.txt", "base\n");
    await gitOk(["push", "--quiet", pushUrl("lease"), "main"], { cwd: one });
    const two = join(tempDir("lease2"), "w");
    await gitOk(["clone", "--quiet", plainUrl("lease"), two]);
    const winner = await commit(one, "f.txt", "from one\n");
    await gitOk(["push", "--quiet", pushUrl("lease"), "main"], { cwd: one });
    await commit(two, "f.txt", "from two\n");
    // The lease names the old value explicitly, so git sends it and the forge must refuse it.
    const r = await git(["push", `--force-with-lease=main:${base}`, pushUrl("lease"), "main"], { cwd: two });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/stale info/);
    expect((await remoteRefs("lease")).get("refs/heads/main")).toBe(winner);
  });

  it("protects branches: no deletion, no history rewrite; an atomic push with one refused ref changes nothing", async () => {
    await newProject("guarded");
    const dir = await workRepo("guarded");
    await commit(dir, "g.txt", "1\n");
    const tip = await commit(dir, "g.txt", "2\n");
    await gitOk(["push", "--quiet", pushUrl("guarded"), "main", "main:refs/heads/dev"], { cwd: dir });
    const patched = await apiPatchProject("guarded", { protected_branches: ["main"], default_branch: "dev" });
    expect(patched.status, patched.text()).toBe(200);
    expect(patched.json<{ default_branch: string }>().default_branch).toBe("dev");
    await gitOk(["reset", "--quiet", "--hard", "HEAD~1"], { cwd: dir });
    const rewritten = await commit(dir, "g.txt", "rewritten\n");
    const forced = await git(["push", "--force", pushUrl("guarded"), "main"], { cwd: dir });
    expect(forced.code).not.toBe(0);
    expect(forced.stderr).toMatch(/protected branch/);
    const deleted = await git(["push", pushUrl("guarded"), ":main"], { cwd: dir });
    expect(deleted.code).not.toBe(0);
    expect(deleted.stderr).toMatch(/protected branch/);
    const atomic = await git(["push", "--atomic", "--force", pushUrl("guarded"), "main", "HEAD:refs/heads/other"], { cwd: dir });
    expect(atomic.code).not.toBe(0);
    const refs = await remoteRefs("guarded");
    expect(refs.get("refs/heads/main")).toBe(tip);
    expect(refs.has("refs/heads/other")).toBe(false);
    expect(refs.get("HEAD")).toBe(tip); // HEAD now names dev, at the same commit
    // Unprotected branches still take force pushes.
    await gitOk(["push", "--quiet", "--force", pushUrl("guarded"), "HEAD:refs/heads/dev"], { cwd: dir });
    expect((await remoteRefs("guarded")).get("refs/heads/dev")).toBe(rewritten);
  });

  it("stores thin packs completed (a small edit to a big file), and fresh clones are clean", async () => {
    await newProject("thin");
    const dir = await workRepo("thin");
    const lines = Array.from({ length: 40_000 }, (_, i) => `line ${i} of a large text file that compresses and deltas well`);
    await commit(dir, "big.txt", `${lines.join("\n")}\n`);
    await gitOk(["push", "--quiet", pushUrl("thin"), "main"], { cwd: dir });
    lines[20_000] = "an edited line";
    const edited = await commit(dir, "big.txt", `${lines.join("\n")}\n`);
    const pushed = await git(["push", "--progress", pushUrl("thin"), "main"], { cwd: dir });
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stderr).toMatch(/remote: Completed the thin pack with [1-9]\d* objects it refers to/);
    expect((await remoteRefs("thin")).get("refs/heads/main")).toBe(edited);
    const clone = await freshCloneIsClean("thin");
    expect((await gitOk(["show", "main:big.txt"], { cwd: clone })).split("\n")[20_000]).toBe("an edited line");
  });

  it("takes chunked pushes (http.postBuffer=65536), and -q pushes print nothing", async () => {
    await newProject("chunked");
    const dir = await workRepo("chunked");
    // Random bytes do not compress: the pack is well over the 64 KiB post buffer.
    await commit(dir, "noise.txt", randomBytes(300_000).toString("hex"));
    const r = await git(["-c", "http.postBuffer=65536", "push", "-q", pushUrl("chunked"), "main"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toBe("");
    await freshCloneIsClean("chunked");
  });

  it("asks for credentials, refuses wrong or read-only tokens, and 404s a missing repository", async () => {
    await newProject("authz");
    const dir = await workRepo("authz");
    await commit(dir, "x.txt", "x\n");
    const anonymous = await git(["push", plainUrl("authz"), "main"], { cwd: dir });
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/could not read Username|Authentication failed/);
    const wrong = await git(["push", pushUrl("authz", "demo", "efp_not-a-token"), "main"], { cwd: dir });
    expect(wrong.stderr).toMatch(/Authentication failed/);
    const minted = await forge.cli("tokens", "create", "demo", "demo", "--scope", "read");
    const readOnly = await git(["push", pushUrl("authz", "demo", minted.stdout.trim()), "main"], { cwd: dir });
    expect(readOnly.code).not.toBe(0);
    expect(readOnly.stderr).toMatch(/403/);
    const missing = await git(["push", pushUrl("no-such-project"), "main"], { cwd: dir });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/not found|404/);
    expect((await remoteRefs("authz")).size).toBe(0);
  });

  it("refuses a push over the plan's repository size, saying the limit and the size", async () => {
    await newProject("quota");
    const dir = await workRepo("quota");
    let data = "";
    for (let i = 0; i < 30_000; i++) data += `${Math.sin(i).toString(36)} ${i}\n`;
    await commit(dir, "data.txt", data);
    const small = await forge.admin("PATCH", "/api/v1/tenants/demo", { plan: { max_repo_bytes: 50_000 } });
    expect(small.status).toBe(200);
    try {
      const r = await git(["push", pushUrl("quota"), "main"], { cwd: dir });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/limit of 0\.0 MiB|limit is 0\.0 MiB|exceed/);
      expect((await remoteRefs("quota")).size).toBe(0);
    } finally {
      await forge.admin("PATCH", "/api/v1/tenants/demo", { plan: { max_repo_bytes: 2 * 1024 ** 3 } });
    }
    const r = await git(["push", "--quiet", pushUrl("quota"), "main"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
  });

  it("refuses an over-quota push through git's report, whole or chunked: only the reason, no reset, no 'up-to-date'", async () => {
    await newProject("quota-big");
    const dir = await workRepo("quota-big");
    await commit(dir, "small.bin", randomBytes(300_000).toString("base64"));
    const small = await commit(dir, "README.md", "small\n");
    await gitOk(["branch", "small", small], { cwd: dir });
    // Over git's http.postBuffer (1 MiB): sent chunked, with no Content-Length.
    await commit(dir, "big.bin", randomBytes(24_000_000).toString("base64"));
    const limited = await forge.admin("PATCH", "/api/v1/tenants/demo", { plan: { max_repo_bytes: 100_000 } });
    expect(limited.status).toBe(200);
    try {
      for (const ref of ["main", "small"]) {
        const r = await git(["push", pushUrl("quota-big"), `${ref}:refs/heads/${ref}`], { cwd: dir });
        expect(r.code, ref).not.toBe(0);
        expect(r.stderr, ref).toMatch(/would exceed this forge's limit of 0\.1 MiB/);
        expect(r.stderr, ref).toMatch(new RegExp(`\\[remote rejected\\] ${ref} -> ${ref} \\(repository would exceed`));
        expect(r.stderr, ref).not.toMatch(/Everything up-to-date|Connection reset|curl 55|RPC failed|broken pipe/i);
      }
      expect((await remoteRefs("quota-big")).size).toBe(0);
    } finally {
      await forge.admin("PATCH", "/api/v1/tenants/demo", { plan: { max_repo_bytes: 2 * 1024 ** 3 } });
    }
  });

  it("fails cleanly when R2 writes or the Durable Object commit fail mid-push, and the retry succeeds", async () => {
    await newProject("faults");
    const dir = await workRepo("faults");
    const first = await commit(dir, "f.txt", "first\n");
    await gitOk(["push", "--quiet", pushUrl("faults"), "main"], { cwd: dir });
    const second = await commit(dir, "f.txt", "second\n");
    for (const fault of ["r2-write", "do-commit"]) {
      const r = await git(["-c", `http.extraHeader=X-Forge-Fault: ${fault}`, "push", pushUrl("faults"), "main"], { cwd: dir });
      expect(r.code, `${fault}: ${r.stderr}`).not.toBe(0);
      expect((await remoteRefs("faults")).get("refs/heads/main")).toBe(first);
    }
    const retry = await git(["push", pushUrl("faults"), "main"], { cwd: dir });
    expect(retry.code, retry.stderr).toBe(0);
    expect((await remoteRefs("faults")).get("refs/heads/main")).toBe(second);
    await freshCloneIsClean("faults");
  });

  it("serializes 20 concurrent pushes to one branch: each ok or cleanly refused, none lost", async () => {
    await newProject("race");
    const seed = await workRepo("race-seed");
    await commit(seed, "seed.txt", "seed\n");
    await gitOk(["push", "--quiet", pushUrl("race"), "main"], { cwd: seed });
    const clients = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const dir = join(tempDir(`race${i}`), "w");
        await gitOk(["clone", "--quiet", plainUrl("race"), dir]);
        const oid = await commit(dir, `client-${i}.txt`, `client ${i}\n`);
        return { dir, oid };
      }),
    );
    const results = await Promise.all(clients.map((c) => git(["push", "--porcelain", pushUrl("race"), "main"], { cwd: c.dir })));
    const accepted = clients.filter((_, i) => results[i]!.code === 0).map((c) => c.oid);
    for (const r of results) {
      if (r.code !== 0) expect(r.stdout + r.stderr).toMatch(/stale info|fetch first|rejected|non-fast-forward/);
    }
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    const tip = (await remoteRefs("race")).get("refs/heads/main");
    expect(accepted).toContain(tip);
    await freshCloneIsClean("race");
  }, 300_000);
});

describe("access over git", () => {
  it("hides private repositories: anonymous gets a sign-in challenge, non-members 404, members clone", async () => {
    await newProject("secret", ["--private"]);
    const dir = await workRepo("secret");
    const tip = await commit(dir, "s.txt", "secret\n");
    await gitOk(["push", "--quiet", pushUrl("secret"), "main"], { cwd: dir });
    const anonymous = await git(["ls-remote", plainUrl("secret")]);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/could not read Username/);
    // A signed-in user who is not a member sees nothing (like a missing repository).
    const created = await forge.admin("POST", "/api/v1/tenants", {
      slug: "gitside",
      name: "Other forge",
      hosts: ["gitside.localhost"],
      owner: { username: "stranger", email: "stranger@example.com" },
    });
    expect(created.status).toBe(201);
    const strangerToken = created.json<{ owner: { token: string } }>().owner.token;
    const registered = await request(forge.url("demo.localhost", "/account/register"), {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: forge.url("demo.localhost", "").replace(/\/$/, ""),
      },
      body: "username=outsider&email=outsider%40example.com&password=outsider-password-1",
    });
    expect(registered.status, registered.text()).toBeLessThan(400);
    const outsider = await forge.cli("tokens", "create", "demo", "outsider", "--scope", "write");
    expect(outsider.code, outsider.stderr).toBe(0);
    const nonMember = await git(["ls-remote", pushUrl("secret", "outsider", outsider.stdout.trim())]);
    expect(nonMember.code).not.toBe(0);
    expect(nonMember.stderr).toMatch(/not found|404/);
    // Another forge's credential is unknown here: a challenge again, never the repository.
    const foreign = await git(["ls-remote", pushUrl("secret", "stranger", strangerToken)]);
    expect(foreign.code).not.toBe(0);
    expect(foreign.stderr).toMatch(/Authentication failed/);
    const member = await git(["ls-remote", pushUrl("secret")]);
    expect(member.code, member.stderr).toBe(0);
    expect(member.stdout).toContain(tip);
  });

  it("refuses another forge's credential for pushing, with the same repository name", async () => {
    const other = await forge.cli("tenants", "create", "pushside", "--host", "pushside.localhost", "--owner", "pat", "--json");
    expect(other.code, other.stderr).toBe(0);
    const patToken = JSON.parse(other.stdout).owner.token as string;
    expect((await forge.cli("projects", "create", "pushside", "same")).code).toBe(0);
    await newProject("same");
    const dir = await workRepo("same");
    await commit(dir, "x.txt", "x\n");
    const crossed = await git(["push", `http://pat:${patToken}@demo.localhost:${port}/same.git`, "main"], { cwd: dir });
    expect(crossed.code).not.toBe(0);
    expect(crossed.stderr).toMatch(/Authentication failed/);
    const own = await git(["push", `http://pat:${patToken}@pushside.localhost:${port}/same.git`, "main"], { cwd: dir });
    expect(own.code, own.stderr).toBe(0);
    expect((await remoteRefs("same")).size).toBe(0);
  });
});

describe("pack upkeep", () => {
  it("compacts many small packs into one that clones stream as is; pushes go on working", async () => {
    await newProject("upkeep");
    const dir = await workRepo("upkeep");
    const tips: string[] = [];
    for (let i = 0; i < 3; i++) {
      tips.push(await commit(dir, `f${i}.txt`, `file ${i}\n`));
      await gitOk(["push", "--quiet", pushUrl("upkeep"), `main:refs/heads/b${i}`, "main"], { cwd: dir });
    }
    const compacted = await forge.cli("repos", "compact", "demo", "upkeep", "--json");
    expect(compacted.code, compacted.stderr).toBe(0);
    expect(JSON.parse(compacted.stdout)).toMatchObject({ compacted: 3, deleted: 0 });
    const clone = join(tempDir("upkeep-clone"), "c.git");
    const cloned = await git(["clone", "--progress", "--mirror", plainUrl("upkeep"), clone]);
    expect(cloned.code, cloned.stderr).toBe(0);
    expect(cloned.stderr).toMatch(/remote: Sending the stored pack/);
    expect((await gitOk(["rev-parse", "b2"], { cwd: clone })).trim()).toBe(tips[2]);
    const next = await commit(dir, "after.txt", "after compaction\n");
    await gitOk(["push", "--quiet", pushUrl("upkeep"), "main"], { cwd: dir });
    expect((await remoteRefs("upkeep")).get("refs/heads/main")).toBe(next);
    await freshCloneIsClean("upkeep");
  });
});

describe("malformed pushes", () => {
  const auth = () => `Basic ${Buffer.from(`demo:${forge.demoToken}`).toString("base64")}`;

  async function rawPush(project: string, body: Buffer) {
    return request(forge.url("demo.localhost", `/${project}.git/git-receive-pack`), {
      method: "POST",
      headers: { authorization: auth(), "content-type": "application/x-git-receive-pack-request" },
      body,
    });
  }

  const pktLine = (s: string) => Buffer.concat([Buffer.from((s.length + 4).toString(16).padStart(4, "0")), Buffer.from(s)]);

  it("refuses broken packs with unpack <reason> and changes nothing", async () => {
    await newProject("broken");
    const dir = await workRepo("broken");
    const oid = await commit(dir, "b.txt", "content\n");
    const pack = await new Promise<Buffer>((resolve, reject) => {
      const child = spawn("git", ["pack-objects", "--stdout", "--revs"], { cwd: dir });
      const chunks: Buffer[] = [];
      child.stdout.on("data", (c: Buffer) => chunks.push(c));
      child.on("close", () => resolve(Buffer.concat(chunks)));
      child.on("error", reject);
      child.stdin.end("HEAD\n");
    });
    const command = pktLine(`${"0".repeat(40)} ${oid} refs/heads/main\0report-status side-band-64k\n`);
    const variants: [string, Buffer][] = [
      ["truncated", pack.subarray(0, pack.length - 40)],
      ["corrupt zlib", Buffer.concat([pack.subarray(0, 20), Buffer.from([0xff, 0xff, 0xff]), pack.subarray(23)])],
      ["wrong count", Buffer.concat([pack.subarray(0, 8), Buffer.from([0, 0, 0, 9]), pack.subarray(12)])],
      ["bad trailer", Buffer.concat([pack.subarray(0, pack.length - 1), Buffer.from([pack[pack.length - 1]! ^ 1])])],
      ["unknown type", Buffer.concat([pack.subarray(0, 12), Buffer.from([(pack[12]! & 0x8f) | 0x50]), pack.subarray(13)])],
    ];
    for (const [what, body] of variants) {
      const res = await rawPush("broken", Buffer.concat([command, Buffer.from("0000"), body]));
      expect(res.status, what).toBe(200);
      expect(res.text(), what).toMatch(/unpack (?!ok)/);
      expect(res.text(), what).toMatch(/ng refs\/heads\/main/);
    }
    const long = await rawPush("broken", Buffer.concat([Buffer.from("fff1"), Buffer.alloc(65517, 0x61)]));
    expect(long.status).toBe(400);
    expect(long.text()).toMatch(/over the limit/);
    expect((await remoteRefs("broken")).size).toBe(0);
    // The same push, intact, goes through.
    const good = await rawPush("broken", Buffer.concat([command, Buffer.from("0000"), pack]));
    expect(good.text()).toMatch(/unpack ok/);
    expect((await remoteRefs("broken")).get("refs/heads/main")).toBe(oid);
  });
});
