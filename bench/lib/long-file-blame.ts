// bench:scale's blame row (issue 19: "blame of a 2,000-line file with 500 revisions <= 2 s"): cold
// blame pages of the long file bench:gen-large --long-file adds, at master and at older commits of
// its history, against `git blame --porcelain` (the C client on the bare repository) and cgit's
// blame page, in the same run.
import { startCgit } from "./cgit";
import { LoadClient, type Response } from "./load";
import { LONG_FILE } from "./long-file";
import { percentile, printTable, type Cell, type Row } from "./report";
import { git, run } from "./run";

export interface BlamePoint {
  commit: string;
  label: string;
  /** Revisions of the file up to this commit (git log -- file). */
  revisions: number;
}

/** Master and `old` older commits spread over the file's history; null when the repository lacks the file. */
export async function longFilePoints(repo: string, old = 4): Promise<BlamePoint[] | null> {
  const has = await run("git", ["-C", repo, "cat-file", "-e", `master:${LONG_FILE}`]);
  if (has.code !== 0) return null;
  const history = (await git(["-C", repo, "log", "--format=%H", "master", "--", LONG_FILE])).stdout.trim().split("\n");
  const master = (await git(["-C", repo, "rev-parse", "master"])).stdout.trim();
  const points: BlamePoint[] = [{ commit: master, label: "master", revisions: history.length }];
  for (let i = 1; i <= old; i++) {
    const at = Math.floor((i * history.length) / (old + 1));
    points.push({ commit: history[at]!, label: `${history[at]!.slice(0, 10)}`, revisions: history.length - at });
  }
  return points;
}

interface Timed {
  /** The first response (cold). */
  first: Response;
  /** Until the page was complete: the first response's time when it was; null if it never was. */
  completeMs: number | null;
}

/**
 * Requests each point's blame page once (cold) and, when it came partial (the page's budget ran
 * out and a background run finishes it), again every second until it is complete (at most a
 * minute). Each such request renders the page again within its own budget, which takes CPU from
 * the background run: the "complete" figure is what a visitor who reloads sees, not the run alone.
 */
async function edgeforgeBlame(client: LoadClient, url: (commit: string) => string, points: BlamePoint[]): Promise<Timed[]> {
  const out: Timed[] = [];
  for (const p of points) {
    const started = performance.now();
    const first = await client.get(url(p.commit));
    let completeMs: number | null = first.status === 200 && first.cacheControl !== "no-store" ? first.ms : null;
    while (completeMs === null && first.status === 200 && performance.now() - started < 60_000) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const again = await client.get(url(p.commit));
      if (again.status === 200 && again.cacheControl !== "no-store") completeMs = performance.now() - started;
    }
    out.push({ first, completeMs });
  }
  return out;
}

async function gitBlame(repo: string, points: BlamePoint[]): Promise<number[]> {
  const out: number[] = [];
  for (const p of points) {
    const started = performance.now();
    const r = await run("git", ["-C", repo, "blame", "--porcelain", p.commit, "--", LONG_FILE]);
    if (r.code !== 0) throw new Error(`git blame: ${r.stderr}`);
    out.push(performance.now() - started);
  }
  return out;
}

async function cgitBlame(repo: string, points: BlamePoint[]): Promise<Response[]> {
  const cgit = await startCgit(repo, { cache: false, repoName: "repo", blame: true });
  try {
    const u = new URL(cgit.url);
    const c = new LoadClient({ port: Number(u.port) }, 1);
    const out: Response[] = [];
    for (const p of points) out.push(await c.get(`${u.pathname}/repo/blame/${LONG_FILE}?id=${p.commit}`));
    c.close();
    return out;
  } finally {
    await cgit.stop();
  }
}

/** Runs the row and prints its table. `url(commit)`: Edgeforge's blame page of the long file. */
export async function longFileBlameTable(
  repo: string,
  client: LoadClient,
  url: (commit: string, path: string) => string,
  opts: { cgit: boolean },
): Promise<void> {
  const points = await longFilePoints(repo);
  if (!points) {
    console.log(`\nblame of ${LONG_FILE}: not in this repository (make one with bench:gen-large --long-file)`);
    return;
  }
  const ef = await edgeforgeBlame(client, (c) => url(c, LONG_FILE), points);
  const gb = await gitBlame(repo, points);
  const cg = opts.cgit ? await cgitBlame(repo, points) : null;
  const cell = (r: Response | undefined, ms: number | undefined): Cell =>
    r && r.status !== 200 ? `HTTP ${r.status}` : (ms ?? "-");
  const rows: Row[] = points.map((p, i) => ({
    label: `${p.label} (${p.revisions} revisions)${ef[i]!.first.cacheControl === "no-store" ? " partial first" : ""}`,
    unit: "ms",
    values: [
      cell(ef[i]!.first, ef[i]!.first.ms),
      ef[i]!.completeMs ?? "not complete in 60 s",
      gb[i]!,
      cg ? cell(cg[i], cg[i]!.ms) : "-",
    ],
  }));
  const complete = ef.map((t) => t.completeMs).filter((ms): ms is number => ms !== null);
  const cgitOk = cg?.filter((r) => r.status === 200).map((r) => r.ms) ?? [];
  for (const p of [50, 99])
    rows.push({
      label: `p${p}`,
      unit: "ms",
      values: [
        percentile(
          ef.map((t) => t.first.ms),
          p,
        ),
        complete.length === ef.length ? percentile(complete, p) : "-",
        percentile(gb, p),
        cgitOk.length === points.length ? percentile(cgitOk, p) : "-",
      ],
    });
  printTable(
    `cold blame of ${LONG_FILE} (${points[0]!.revisions} revisions at master), one request each`,
    ["edgeforge first page", "edgeforge complete", "git blame", "cgit"],
    rows,
    [
      [1, 2],
      [1, 3],
    ],
  );
}
