// Running the real git client in end-to-end tests, and building test repositories with it.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, statSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "./runner";

/** The express repository as a git bundle (33,522 objects; 19 branches, 304 tags; HEAD master), kept in the repository. */
export const EXPRESS_BUNDLE = join(root, "test", "fixtures", "express.bundle");

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

const gitEnv = {
  GIT_TERMINAL_PROMPT: "0",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "Test Author",
  GIT_AUTHOR_EMAIL: "author@example.com",
  GIT_COMMITTER_NAME: "Test Author",
  GIT_COMMITTER_EMAIL: "author@example.com",
};

/** Runs git; resolves with its exit code and output (never rejects on a non-zero exit). */
export function git(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<GitResult> {
  return new Promise((resolve) => {
    execFile(
      "git",
      args,
      { cwd: opts.cwd, env: { ...process.env, ...gitEnv, ...opts.env }, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Like git(), but throws with git's stderr unless it exits 0. */
export async function gitOk(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<string> {
  const r = await git(args, opts);
  if (r.code !== 0) throw new Error(`git ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `edgeforge-${prefix}-`));

/** `git rev-list --objects --all`, sorted: the set of objects a repository holds reachable. */
export async function objectList(repo: string): Promise<string[]> {
  return (await gitOk(["rev-list", "--objects", "--all"], { cwd: repo })).trim().split("\n").sort();
}

/** A bare mirror of the express fixture, to compare clones with. */
export async function expressMirror(): Promise<string> {
  const dir = join(tempDir("mirror"), "express.git");
  await gitOk(["clone", "--quiet", "--mirror", EXPRESS_BUNDLE, dir]);
  return dir;
}

/** A bundle of `mirror` plus one new commit on master (a small edit to one file). */
export async function bundleWithNewCommit(mirror: string): Promise<{ bundle: string; commit: string }> {
  const work = join(tempDir("work"), "w");
  await gitOk(["clone", "--quiet", mirror, work]);
  const file = join(work, "Readme.md");
  writeFileSync(file, `${readFileSync(file, "utf8")}\nOne more line, added by the test.\n`);
  await gitOk(["commit", "--quiet", "-am", "A new commit on master"], { cwd: work });
  const commit = (await gitOk(["rev-parse", "HEAD"], { cwd: work })).trim();
  const next = join(tempDir("next"), "next.git");
  await gitOk(["clone", "--quiet", "--mirror", mirror, next]);
  await gitOk(["push", "--quiet", next, "HEAD:refs/heads/master"], { cwd: work });
  const bundle = join(tempDir("bundle"), "next.bundle");
  await gitOk(["bundle", "create", bundle, "--all"], { cwd: next });
  return { bundle, commit };
}

/**
 * A bundle whose pack also holds a commit no ref reaches (as a pack keeps one after a force
 * push), written by hand: git bundle only ever packs reachable objects.
 */
export async function bundleWithUnreachableCommit(): Promise<{ bundle: string; reachable: string; unreachable: string }> {
  const work = join(tempDir("unreach"), "w");
  await gitOk(["init", "--quiet", "-b", "main", work]);
  writeFileSync(join(work, "a.txt"), "first\n");
  await gitOk(["add", "."], { cwd: work });
  await gitOk(["commit", "--quiet", "-m", "first"], { cwd: work });
  const reachable = (await gitOk(["rev-parse", "HEAD"], { cwd: work })).trim();
  writeFileSync(join(work, "secret.txt"), "a secret that was force-pushed away\n");
  await gitOk(["add", "."], { cwd: work });
  await gitOk(["commit", "--quiet", "-m", "oops"], { cwd: work });
  const unreachable = (await gitOk(["rev-parse", "HEAD"], { cwd: work })).trim();
  // Move main back: the reflog keeps "oops" alive, so repack still packs it.
  await gitOk(["reset", "--quiet", "--hard", "HEAD~1"], { cwd: work });
  const packDir = tempDir("pack");
  await gitOk(["repack", "-adq"], { cwd: work });
  const packFile = readdirSync(join(work, ".git", "objects", "pack")).find((f) => f.endsWith(".pack"))!;
  const pack = readFileSync(join(work, ".git", "objects", "pack", packFile));
  const bundle = join(packDir, "unreachable.bundle");
  writeFileSync(bundle, Buffer.concat([Buffer.from(`# v2 git bundle\n${reachable} refs/heads/main\n\n`), pack]));
  return { bundle, reachable, unreachable };
}

/** Sizes of the packs in a repository's object store. */
export function packSizes(gitDir: string): Map<string, number> {
  const dir = join(gitDir, "objects", "pack");
  return new Map(
    readdirSync(dir)
      .filter((f) => f.endsWith(".pack"))
      .map((f) => [f, statSync(join(dir, f)).size]),
  );
}
