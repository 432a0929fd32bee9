// A warm page loaded in a loop by a second client while something heavy runs, and a small project
// to load it from (so the loop can start before the large repository is imported).
import { join } from "node:path";
import { rmSync } from "node:fs";
import { HOST, TENANT, type Edgeforge } from "./edgeforge";
import type { LoadClient } from "./load";
import { percentile, type Row } from "./report";
import { rss } from "./rss";
import { basicAuthArgs } from "./repo";
import { git, gitEnv, tempDir } from "./run";

/**
 * Latencies of one URL requested back to back while `work` runs (the loop starts first), and when
 * each request was sent (ms since `work` started: what a CPU profile of the work is aligned with).
 */
export async function warmDuring<T>(
  client: LoadClient,
  url: string,
  work: () => Promise<T>,
): Promise<{ result: T; ms: number[]; sentAt: number[] }> {
  let done = false;
  const ms: number[] = [];
  const sentAt: number[] = [];
  const start = performance.now();
  const loop = (async () => {
    while (!done) {
      const sent = performance.now() - start;
      const r = await client.get(url);
      if (r.status !== 200) throw new Error(`the warm page ${url} answered HTTP ${r.status}`);
      ms.push(r.ms);
      sentAt.push(sent);
    }
  })();
  try {
    return { result: await work(), ms, sentAt };
  } finally {
    done = true;
    await loop;
  }
}

/** The `count` longest requests of a warm loop, "<ms> ms at <s> s" (sent that long after the work started). */
export function longestWarm(run: { ms: number[]; sentAt: number[] }, count = 5): string {
  const order = run.ms.map((_, i) => i).sort((a, b) => run.ms[b]! - run.ms[a]!);
  return order
    .slice(0, count)
    .map((i) => `${Math.round(run.ms[i]!)} ms at ${(run.sentAt[i]! / 1000).toFixed(1)} s`)
    .join(", ");
}

/**
 * Requests (`request`, unmeasured) until the resident memory of the forge's workerd `pid` has
 * settled: at least `minRequests` and 20 s, then until it grew by less than 2% over the last 10 s
 * (at most `maxSeconds`). workerd holds the native memory of a response until V8's next full
 * collection; until its allocator has grown enough to reuse that memory from one collection to
 * the next, each fresh page it touches is a fault, and on big.git a warm request cost the forge's
 * thread twice the CPU (bench/scale-results.md, session 19): an "alone" taken then is no baseline.
 */
export async function warmUntilSettled(
  request: () => Promise<unknown>,
  pid: number,
  minRequests: number,
  maxSeconds = 120,
): Promise<{ requests: number; seconds: number; rssMiB: number; settled: boolean }> {
  const start = performance.now();
  const history: { at: number; bytes: number }[] = [];
  let requests = 0;
  let nextSample = start;
  for (;;) {
    await request();
    requests++;
    const now = performance.now();
    if (now < nextSample) continue;
    nextSample = now + 1000;
    const bytes = rss(pid)?.rss ?? 0;
    history.push({ at: now, bytes });
    const tenAgo = history.find((h) => h.at >= now - 10_000)!;
    const seconds = (now - start) / 1000;
    const settled = seconds >= 20 && requests >= minRequests && bytes < tenAgo.bytes * 1.02;
    if (settled || seconds >= maxSeconds) return { requests, seconds, rssMiB: bytes / 2 ** 20, settled };
  }
}

/** Latencies of one URL requested back to back for `seconds`. */
export async function warmAlone(client: LoadClient, url: string, seconds: number): Promise<number[]> {
  const end = performance.now() + seconds * 1000;
  const { ms } = await warmDuring(
    client,
    url,
    () => new Promise((resolve) => setTimeout(resolve, Math.max(0, end - performance.now()))),
  );
  return ms;
}

/**
 * A project "warm" with one commit of one file, pushed over smart HTTP; returns the URL of that
 * file's blob page at master, already rendered once.
 */
export async function smallProject(ef: Edgeforge, client: LoadClient): Promise<string> {
  const dir = join(tempDir("scale-warm-"), "warm.git");
  try {
    await git(["init", "--quiet", "--bare", "--initial-branch=master", dir]);
    const g = (args: string[], input?: string) => git(["-C", dir, ...args], { input, env: gitEnv });
    const text = Array.from({ length: 200 }, (_, i) => `export const line${i} = ${i}; // a warm page of a few KB\n`).join("");
    const blob = (await g(["hash-object", "-w", "--stdin"], text)).stdout.trim();
    const tree = (await g(["mktree"], `100644 blob ${blob}\twarm.ts\n`)).stdout.trim();
    const commit = (await g(["commit-tree", tree, "-m", "warm page"])).stdout.trim();
    await g(["update-ref", "refs/heads/master", commit]);
    await ef.cli("projects", "create", TENANT, "warm");
    const auth = basicAuthArgs({ username: "bench", password: ef.token });
    await git([...auth, "-C", dir, "push", "--quiet", `http://${HOST}:${ef.port}/warm.git`, "master"]);
  } finally {
    rmSync(join(dir, ".."), { recursive: true, force: true });
  }
  const url = "/p/warm/source/blob/master/warm.ts";
  const first = await client.get(url);
  if (first.status !== 200) throw new Error(`the small project's blob page answered HTTP ${first.status}`);
  return url;
}

/**
 * Rows for a warm page measured alone (column 0) and during other work (the next columns): p50,
 * p99, the delay each adds to alone's p50 and p99, and how many requests each made.
 */
export function warmRows(columns: number[][]): Row[] {
  const [alone, ...during] = columns;
  const p = (xs: number[], q: number) => percentile(xs, q);
  return [
    { label: "p50", unit: "ms", values: columns.map((xs) => p(xs, 50)) },
    { label: "p99", unit: "ms", values: columns.map((xs) => p(xs, 99)) },
    { label: "max", unit: "ms", values: columns.map((xs) => (xs.length ? Math.max(...xs) : Number.NaN)) },
    { label: "added p50 (vs alone)", unit: "ms", values: ["-", ...during.map((xs) => p(xs, 50) - p(alone!, 50))] },
    { label: "added p99 (vs alone)", unit: "ms", values: ["-", ...during.map((xs) => p(xs, 99) - p(alone!, 99))] },
    { label: "requests", unit: "count", values: columns.map((xs) => xs.length) },
  ];
}
