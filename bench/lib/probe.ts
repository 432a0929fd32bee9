// What the page probes (tree-probe, blame-probe, warm-probe) and bench:scale share: the old commits
// they sample, one page request with what its headers say, the wait for the tree page at master to
// be final, and a CPU profile of the edge isolate through workerd's inspector.
import http from "node:http";
import { writeFileSync } from "node:fs";
import { WebSocket } from "undici";
import { HOST } from "./edgeforge";
import { git } from "./run";
import { inspectorTargets } from "./cpu-slices";

export interface Pick {
  commit: string;
  /** A file the commit changed (for blob, blame and path-log pages). */
  file: string;
}

/** `samples` commits spread over the older two thirds of master's first-parent history. */
export async function oldCommitPicks(repo: string, samples: number): Promise<Pick[]> {
  const firstParent = (await git(["-C", repo, "rev-list", "--first-parent", "master"])).stdout.trim().split("\n");
  const old = firstParent.slice(Math.floor(firstParent.length / 3));
  const picks: Pick[] = [];
  for (let i = 0; i < samples; i++) {
    const commit = old[Math.floor((i * old.length) / samples)]!;
    const changed = (await git(["-C", repo, "diff-tree", "--no-commit-id", "--name-only", "-r", commit])).stdout.split("\n");
    picks.push({ commit, file: changed.find((f) => /\.(ts|md)$/.test(f)) ?? "README.md" });
  }
  return picks;
}

export interface PageAnswer {
  ms: number;
  status: number;
  /** Cache-Control: "no-store" marks a partial page. */
  cc: string;
  /** Server-Timing, as sent. */
  st: string;
}

/** One HTML page of the bench tenant on the forge at `port` (Node does not resolve *.localhost). */
export const pageAt = (port: number, path: string) =>
  new Promise<PageAnswer>((resolve, reject) => {
    const t = performance.now();
    http
      .get({ host: "127.0.0.1", port, path, headers: { host: `${HOST}:${port}`, accept: "text/html" } }, (res) => {
        res.resume();
        res.on("end", () =>
          resolve({
            ms: performance.now() - t,
            status: res.statusCode ?? 0,
            cc: String(res.headers["cache-control"] ?? ""),
            st: String(res.headers["server-timing"] ?? ""),
          }),
        );
      })
      .on("error", reject);
  });

/** Whether the tree page at master became final (its last-commit column complete) within `waitMs`. */
export async function masterFinal(get: (path: string) => Promise<PageAnswer>, waitMs = Infinity): Promise<boolean> {
  const t = performance.now();
  while (performance.now() - t < waitMs) {
    const r = await get("/p/repo/source/tree/master/");
    if (r.status === 200 && r.cc !== "no-store") return true;
    await new Promise((res) => setTimeout(res, 1000));
  }
  return false;
}

/** Starts a CPU profile of the edge isolate; `stop` writes it to `file` (open it in Chrome's DevTools). */
export async function profileEdge(inspectorPort: number): Promise<{ stop(file: string): Promise<void> }> {
  const list = await inspectorTargets(inspectorPort);
  const edge = list.find((x) => x.id === "core:user:edge")!;
  const ws = new WebSocket(edge.webSocketDebuggerUrl);
  await new Promise((r) => (ws.onopen = r));
  let id = 0;
  const pending = new Map<number, (v: { profile?: unknown }) => void>();
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data));
    if (msg.id) pending.get(msg.id)?.(msg.result);
  };
  const send = (method: string, params = {}) =>
    new Promise<{ profile?: unknown }>((resolve) => {
      const n = ++id;
      pending.set(n, resolve);
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 200 });
  await send("Profiler.start");
  return {
    async stop(file) {
      const { profile } = await send("Profiler.stop");
      writeFileSync(file, JSON.stringify(profile));
      ws.close();
    },
  };
}
