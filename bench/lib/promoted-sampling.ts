// V8's sampling heap profiler in one of workerd's isolates, through the inspector, keeping the
// objects major collections freed and dropping those the young generation's scavenges freed: what
// survived a scavenge, was promoted to the old generation, and weighs there until a major
// collection. That garbage, not what is held, is what makes an isolate's sampled heap climb.
import { writeFileSync } from "node:fs";
import { WebSocket } from "undici";
import type { HeapNode } from "./heap-sampling";
import { inspectorTargets } from "./cpu-slices";

/** Starts sampling in the worker whose inspector id is `target` (e.g. "core:user:push"). */
export async function startPromotedSampling(
  inspectorPort: number,
  target: string,
  intervalBytes = 16 * 1024,
): Promise<{ stop(file: string): Promise<HeapNode> }> {
  const all = await inspectorTargets(inspectorPort);
  const t = all.find((x) => x.id === target);
  if (!t) throw new Error(`no inspector target ${target}`);
  const ws = new WebSocket(t.webSocketDebuggerUrl);
  let id = 0;
  const pending = new Map<number, (r: unknown) => void>();
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`cannot reach the inspector target ${target}`));
  });
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await post("HeapProfiler.enable");
  await post("HeapProfiler.startSampling", {
    samplingInterval: intervalBytes,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  });
  return {
    async stop(file) {
      const { profile } = (await post("HeapProfiler.stopSampling")) as { profile: { head: HeapNode } };
      ws.close();
      writeFileSync(file, JSON.stringify(profile));
      return profile.head;
    },
  };
}

/** The sites that allocated most, by function and place, with their share of the whole. */
export function topSites(head: HeapNode, n = 25): { site: string; bytes: number; share: number }[] {
  const bySite = new Map<string, number>();
  let total = 0;
  const visit = (node: HeapNode, parent: string) => {
    const f = node.callFrame;
    const here = `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\//, "")}:${f.lineNumber + 1}`;
    if (node.selfSize > 0) {
      // Native allocations (no script) are named by their caller.
      const site = f.url ? here : `${here} in ${parent}`;
      bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    for (const c of node.children) visit(c, f.url ? here : parent);
  };
  visit(head, "(root)");
  return [...bySite.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([site, bytes]) => ({ site, bytes, share: bytes / total }));
}
