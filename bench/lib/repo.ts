// Repository helpers for the benchmarks: bare copies to serve, empty push targets, and new commits
// on master for the incremental-fetch benchmark.
import { readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { git, gitEnv, tempDir } from "./run";

/** `git clone --mirror` (bare, every ref) of a bundle or a repository, detached from its origin. */
export async function mirror(source: string, dest: string): Promise<string> {
  // Cloning from a local path hard-links the objects, so a copy of even a large repo is instant.
  await git(["clone", "--quiet", "--mirror", source, dest]);
  // A mirror clone keeps "origin" with a +refs/*:refs/* refspec; nothing here should fetch from it.
  await git(["-C", dest, "config", "--remove-section", "remote.origin"]);
  await allowPush(dest);
  return dest;
}

/** An empty bare repository that accepts pushes over smart HTTP. */
export async function initEmptyBare(dest: string): Promise<string> {
  await git(["init", "--quiet", "--bare", dest]);
  await allowPush(dest);
  return dest;
}

/** git-http-backend refuses receive-pack to anonymous users unless the repository opts in. */
async function allowPush(repo: string): Promise<void> {
  await git(["-C", repo, "config", "http.receivepack", "true"]);
}

export interface RepoInfo {
  objects: number;
  packBytes: number;
  refs: number;
  head: string;
}

export async function repoInfo(repo: string): Promise<RepoInfo> {
  const packDir = join(repo, "objects", "pack");
  let packBytes = 0;
  for (const f of readdirSync(packDir)) if (f.endsWith(".pack")) packBytes += statSync(join(packDir, f)).size;
  const count = (await git(["-C", repo, "count-objects", "-v"])).stdout;
  const num = (k: string) => Number(new RegExp(`^${k}: (\\d+)`, "m").exec(count)?.[1] ?? 0);
  const refs = (await git(["-C", repo, "for-each-ref", "--format=%(refname)"])).stdout.split("\n").filter(Boolean).length;
  const head = (await git(["-C", repo, "symbolic-ref", "--short", "HEAD"])).stdout.trim();
  return { objects: num("count") + num("in-pack"), packBytes, refs, head };
}

/**
 * Makes new commits on the default branch without a checkout (a temporary index over a bare
 * clone that shares the source's objects), so it costs the same on a 10 MB or a 300 MB repo.
 * Each commit appends one line to an existing text file: the smallest realistic change, whose
 * fetch should send one commit, the trees on its path and one blob (likely a delta).
 */
export class CommitMaker {
  private n = 0;
  private constructor(
    readonly dir: string,
    readonly branch: string,
    private readonly file: string,
  ) {}

  static async create(source: string): Promise<CommitMaker> {
    const dir = join(tempDir("work"), "work.git");
    await git(["clone", "--quiet", "--bare", "--shared", source, dir]);
    const branch = (await git(["-C", dir, "symbolic-ref", "--short", "HEAD"])).stdout.trim();
    // A top-level text file (README first) keeps the tree path short and the same on every repo.
    const entries = (await git(["-C", dir, "ls-tree", branch])).stdout.split("\n").filter((l) => l.includes(" blob "));
    const names = entries.map((l) => l.split("\t")[1]!).filter((n) => !/\.(png|jpe?g|gif|bin|zip|gz|pdf)$/i.test(n));
    const file = names.find((n) => /^readme/i.test(n)) ?? names[0];
    if (!file) throw new Error(`no top-level file on ${branch} to change`);
    return new CommitMaker(dir, branch, file);
  }

  /** Creates one new commit on the branch (locally) and returns its id. */
  async commit(): Promise<string> {
    this.n++;
    const env = { ...gitEnv, GIT_INDEX_FILE: join(this.dir, "bench-index") };
    const g = (args: string[], input?: string) => git(["-C", this.dir, ...args], { input, env });
    const old = (await g(["cat-file", "blob", `${this.branch}:${this.file}`])).stdout;
    const blob = (await g(["hash-object", "-w", "--stdin"], `${old}bench: incremental commit ${this.n}\n`)).stdout.trim();
    await g(["read-tree", this.branch]);
    await g(["update-index", "--cacheinfo", `100644,${blob},${this.file}`]);
    const tree = (await g(["write-tree"])).stdout.trim();
    const sha = (await g(["commit-tree", tree, "-p", this.branch, "-m", `bench: incremental commit ${this.n}`])).stdout.trim();
    await g(["update-ref", `refs/heads/${this.branch}`, sha]);
    return sha;
  }

  dispose(): void {
    rmSync(dirname(this.dir), { recursive: true, force: true });
  }

  /** Pushes the branch to a server; `gitArgs` carries auth (`-c http.extraHeader=...`). */
  async push(url: string, gitArgs: string[] = []): Promise<void> {
    await git([...gitArgs, "-C", this.dir, "push", "--quiet", url, `refs/heads/${this.branch}:refs/heads/${this.branch}`]);
  }
}

/** Git arguments that send HTTP Basic credentials on every request (no 401 round trip first). */
export function basicAuthArgs(auth?: { username: string; password: string }): string[] {
  if (!auth) return [];
  const token = Buffer.from(`${auth.username}:${auth.password}`).toString("base64");
  return ["-c", `http.extraHeader=Authorization: Basic ${token}`];
}
