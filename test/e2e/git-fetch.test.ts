// Fetch and clone against the running local forge with the real git client (and isomorphic-git):
// every protocol version, shallow and partial clones, negotiation, tags, refusals.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fs from "node:fs";
import isogit from "isomorphic-git";
import isoHttp from "isomorphic-git/http/node";
import { sharedForge, type RunningForge, type TestTenant } from "./runner";
import {
  EXPRESS_BUNDLE,
  bundleWithNewCommit,
  bundleWithUnreachableCommit,
  expressMirror,
  git,
  gitOk,
  objectList,
  packSizes,
  tempDir,
} from "./git";

let forge: RunningForge;
let tenant: TestTenant;
let mirror: string;
let mirrorObjects: string[];
let url: string;

const projectUrl = (name: string) => forge.url(tenant.host, `/${name}.git`);

async function importInto(project: string, bundle: string): Promise<{ objects: number; refs: number }> {
  expect((await forge.cli("projects", "create", tenant.slug, project)).code).toBe(0);
  const imported = await forge.cli("repos", "import", tenant.slug, project, bundle, "--json");
  expect(imported.stderr, imported.stderr).toBe("");
  expect(imported.code).toBe(0);
  return JSON.parse(imported.stdout);
}

beforeAll(async () => {
  forge = await sharedForge();
  tenant = await forge.createTenant("fetch");
  mirror = await expressMirror();
  mirrorObjects = await objectList(mirror);
  const result = await importInto("express", EXPRESS_BUNDLE);
  expect(result).toMatchObject({ objects: 33522, refs: 323 });
  url = projectUrl("express");
}, 300_000);

afterAll(async () => {
  await forge?.stop();
});

async function cloneChecked(args: string[]): Promise<string> {
  const dir = join(tempDir("clone"), "c.git");
  await gitOk(["clone", "--quiet", "--bare", ...args, url, dir]);
  const fsck = await git(["fsck", "--full", "--strict"], { cwd: dir });
  expect(fsck.code, fsck.stderr).toBe(0);
  return dir;
}

describe("clone", () => {
  for (const version of ["0", "1", "2"]) {
    it(`clones with protocol version ${version}: fsck-clean and the same objects`, async () => {
      const dir = await cloneChecked(["-c", `protocol.version=${version}`]);
      expect(await objectList(dir)).toEqual(mirrorObjects);
      expect((await gitOk(["symbolic-ref", "HEAD"], { cwd: dir })).trim()).toBe("refs/heads/master");
      expect((await gitOk(["for-each-ref"], { cwd: dir })).trim().split("\n")).toHaveLength(323);
    });
  }

  it("serves ls-refs with symrefs and peeled tags", async () => {
    const out = await gitOk(["-c", "protocol.version=2", "ls-remote", "--symref", url, "HEAD", "refs/tags/4.0.0*"]);
    expect(out).toMatch(/^ref: refs\/heads\/master\tHEAD$/m);
    const mirrorOut = await gitOk(["show-ref", "--dereference", "refs/tags/4.0.0"], { cwd: mirror });
    for (const line of mirrorOut.trim().split("\n")) {
      const [oid, name] = line.split(" ");
      expect(out).toContain(`${oid}\t${name}`);
    }
  });

  it("makes shallow clones and deepens them: --depth, --deepen, --shallow-since, --unshallow", async () => {
    const work = join(tempDir("shallow"), "w");
    await gitOk(["clone", "--quiet", "--depth", "1", url, work]);
    expect((await gitOk(["rev-list", "--count", "HEAD"], { cwd: work })).trim()).toBe("1");
    expect(readFileSync(join(work, ".git", "shallow"), "utf8").trim()).toBe(
      (await gitOk(["rev-parse", "master"], { cwd: mirror })).trim(),
    );
    await gitOk(["fetch", "--quiet", "--deepen", "5"], { cwd: work });
    expect((await gitOk(["rev-list", "--count", "HEAD"], { cwd: work })).trim()).toBe("6");
    await gitOk(["fetch", "--quiet", "--shallow-since", "2014-06-01"], { cwd: work });
    const sinceCount = Number((await gitOk(["rev-list", "--count", "HEAD"], { cwd: work })).trim());
    const expected = Number((await gitOk(["rev-list", "--count", "--since=2014-06-01", "master"], { cwd: mirror })).trim());
    expect(sinceCount).toBeGreaterThanOrEqual(expected);
    await gitOk(["fetch", "--quiet", "--unshallow"], { cwd: work });
    expect(existsSync(join(work, ".git", "shallow"))).toBe(false);
    expect((await gitOk(["rev-list", "--count", "HEAD"], { cwd: work })).trim()).toBe(
      (await gitOk(["rev-list", "--count", "master"], { cwd: mirror })).trim(),
    );
    const fsck = await git(["fsck", "--full", "--strict"], { cwd: work });
    expect(fsck.code, fsck.stderr).toBe(0);
  });

  it("makes a partial clone (--filter=blob:none) that fetches blobs lazily on checkout", async () => {
    const work = join(tempDir("partial"), "w");
    await gitOk(["clone", "--quiet", "--filter=blob:none", url, work]);
    const missing = (await gitOk(["rev-list", "--objects", "--all", "--missing=print"], { cwd: work }))
      .split("\n")
      .filter((l) => l.startsWith("?"));
    expect(missing.length).toBeGreaterThan(5000);
    await gitOk(["checkout", "--quiet", "3.1.0"], { cwd: work });
    expect(readFileSync(join(work, "package.json"), "utf8")).toContain('"version": "3.1.0"');
    const fsck = await git(["fsck", "--connectivity-only"], { cwd: work });
    expect(fsck.code, fsck.stderr).toBe(0);
  });

  it("honours tree:0 and blob:limit filters", async () => {
    const treeless = join(tempDir("treeless"), "w.git");
    await gitOk(["clone", "--quiet", "--bare", "--filter=tree:0", url, treeless]);
    const objects = (await gitOk(["cat-file", "--batch-all-objects", "--batch-check=%(objecttype)"], { cwd: treeless }))
      .trim()
      .split("\n");
    expect(objects.filter((t) => t === "tree" || t === "blob")).toEqual([]);
    expect(objects.filter((t) => t === "commit").length).toBe(6413);
    const limited = join(tempDir("limited"), "w.git");
    await gitOk(["clone", "--quiet", "--bare", "--filter=blob:limit=1024", url, limited]);
    const sizes = (
      await gitOk(["cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectsize)"], { cwd: limited })
    )
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("blob "))
      .map((l) => Number(l.split(" ")[1]));
    expect(sizes.length).toBeGreaterThan(100);
    expect(Math.max(...sizes)).toBeLessThan(1024);
  });

  it("clones an empty repository", async () => {
    expect((await forge.cli("projects", "create", tenant.slug, "empty")).code).toBe(0);
    const dir = join(tempDir("empty"), "e");
    for (const version of ["0", "2"]) {
      const r = await git(["-c", `protocol.version=${version}`, "clone", projectUrl("empty"), `${dir}${version}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain("You appear to have cloned an empty repository");
    }
  });

  it("asks anonymous clients to sign in for a missing repository, and 404s signed-in ones", async () => {
    const anonymous = await git(["ls-remote", projectUrl("no-such-project")]);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/could not read Username/);
    const port = new URL(url).port;
    const signedIn = await git([
      "ls-remote",
      `http://${tenant.owner.username}:${tenant.owner.token}@${tenant.host}:${port}/no-such-project.git`,
    ]);
    expect(signedIn.code).not.toBe(0);
    expect(signedIn.stderr).toMatch(/not found|404/);
  });

  it("works with isomorphic-git's clone (protocol v1)", async () => {
    const dir = tempDir("iso");
    const port = new URL(url).port;
    await isogit.clone({
      fs,
      http: isoHttp,
      dir,
      url: `http://127.0.0.1:${port}/express.git`,
      headers: { host: `${tenant.host}:${port}` },
      singleBranch: true,
      ref: "4.x",
    });
    const log = await isogit.log({ fs, dir, ref: "HEAD" });
    expect(log[0]!.oid).toBe((await gitOk(["rev-parse", "refs/heads/4.x"], { cwd: mirror })).trim());
    expect(log.length).toBe(Number((await gitOk(["rev-list", "--count", "refs/heads/4.x"], { cwd: mirror })).trim()));
    const fsck = await git(["fsck", "--full"], { cwd: dir });
    expect(fsck.code, fsck.stderr).toBe(0);
  }, 300_000);
});

describe("fetch", () => {
  it("sends a small pack for one new commit, after negotiating what the client has", async () => {
    const { bundle, commit } = await bundleWithNewCommit(mirror);
    await importInto("express-next", bundle);
    const work = join(tempDir("incr"), "w.git");
    await gitOk(["clone", "--quiet", "--bare", url, work]);
    const before = packSizes(work);
    for (const version of ["2", "0"]) {
      await gitOk(["update-ref", "-d", "refs/heads/next-master"], { cwd: work }).catch(() => "");
      // transfer.unpackLimit=1 keeps the received pack as is, so its size can be measured.
      await gitOk(
        [
          "-c",
          `protocol.version=${version}`,
          "-c",
          "transfer.unpackLimit=1",
          "fetch",
          "--quiet",
          projectUrl("express-next"),
          "master:next-master",
        ],
        { cwd: work },
      );
      expect((await gitOk(["rev-parse", "next-master"], { cwd: work })).trim()).toBe(commit);
    }
    const added = [...packSizes(work)].filter(([name]) => !before.has(name)).map(([, size]) => size);
    expect(added.length).toBeGreaterThan(0);
    // The commit, the root tree and one blob (and their deltas): a few kilobytes, not megabytes.
    for (const size of added) expect(size).toBeLessThan(20_000);
    const fsck = await git(["fsck", "--full", "--strict"], { cwd: work });
    expect(fsck.code, fsck.stderr).toBe(0);
  });

  it("sends objects as new deltas against the client's versions of the same paths", async () => {
    const work = join(tempDir("deltas"), "w.git");
    await gitOk(["clone", "--quiet", "--bare", "--single-branch", "--branch", "4.x", url, work]);
    const r = await git(["fetch", "--progress", url, "master:master"], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/remote: Total \d+ \(delta \d+\), .*new deltas [1-9]\d*/);
    const fsck = await git(["fsck", "--full", "--strict"], { cwd: work });
    expect(fsck.code, fsck.stderr).toBe(0);
    expect((await gitOk(["rev-parse", "master"], { cwd: work })).trim()).toBe(
      (await gitOk(["rev-parse", "master"], { cwd: mirror })).trim(),
    );
  });

  it("fetches into an unrelated repository", async () => {
    const work = join(tempDir("unrelated"), "u");
    await gitOk(["init", "--quiet", work]);
    await gitOk(["commit", "--quiet", "--allow-empty", "-m", "unrelated"], { cwd: work });
    await gitOk(["fetch", "--quiet", url, "refs/heads/4.x:refs/remotes/x/4.x"], { cwd: work });
    expect((await gitOk(["rev-parse", "refs/remotes/x/4.x"], { cwd: work })).trim()).toBe(
      (await gitOk(["rev-parse", "refs/heads/4.x"], { cwd: mirror })).trim(),
    );
    const fsck = await git(["fsck", "--full", "--strict"], { cwd: work });
    expect(fsck.code, fsck.stderr).toBe(0);
  });

  it("auto-follows annotated tags of what it fetches, peeled", async () => {
    const work = join(tempDir("tags"), "t");
    await gitOk(["clone", "--quiet", "--single-branch", "--branch", "4.x", url, work]);
    const tags = (await gitOk(["tag"], { cwd: work })).trim().split("\n").sort();
    const expected = (await gitOk(["tag", "--merged", "4.x"], { cwd: mirror })).trim().split("\n").sort();
    expect(tags).toEqual(expected);
    expect(tags).toContain("4.0.0");
    const annotated = (await gitOk(["for-each-ref", "--format=%(objecttype) %(refname:short)", "refs/tags"], { cwd: mirror }))
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("tag "))
      .map((l) => l.slice(4))
      .filter((t) => tags.includes(t));
    expect(annotated.length).toBeGreaterThan(0);
    for (const t of annotated) {
      expect((await gitOk(["cat-file", "-t", `refs/tags/${t}`], { cwd: work })).trim()).toBe("tag");
      expect((await gitOk(["rev-parse", `refs/tags/${t}^{}`], { cwd: work })).trim()).toBe(
        (await gitOk(["rev-parse", `refs/tags/${t}^{}`], { cwd: mirror })).trim(),
      );
    }
  });

  it("refuses a commit no ref reaches, and an object it does not have", async () => {
    const { bundle, reachable, unreachable } = await bundleWithUnreachableCommit();
    await importInto("unreach", bundle);
    const work = join(tempDir("refuse"), "r");
    await gitOk(["init", "--quiet", work]);
    for (const version of ["0", "2"]) {
      const ok = await git(["-c", `protocol.version=${version}`, "fetch", "--quiet", projectUrl("unreach"), reachable], {
        cwd: work,
      });
      expect(ok.code, ok.stderr).toBe(0);
      for (const oid of [unreachable, "1234567890123456789012345678901234567890"]) {
        const r = await git(["-c", `protocol.version=${version}`, "fetch", projectUrl("unreach"), oid], { cwd: work });
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain("not our ref");
      }
    }
    expect((await git(["cat-file", "-e", unreachable], { cwd: work })).code).not.toBe(0);
  });
});
