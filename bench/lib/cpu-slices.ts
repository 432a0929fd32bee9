// The longest synchronous slices of each workerd isolate, from a CPU profile taken through the
// inspector (Profiler.start/stop): a run of samples without "(idle)" is one stretch in which the
// isolate answered nothing else. Each slice is named by the functions that spent most of it.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { WebSocket } from "undici";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * How long a sample stands for, in ms: the time until the isolate's next sample, but at most two
 * sampling intervals. Each isolate's profiler samples only while that isolate runs, so the time to
 * its next sample includes every stretch in which the thread ran something else or nothing: a
 * simulator entered for a millisecond once a second has samples a second apart, and counting each
 * until the next one made it "busy" for the whole second (s16-warmstore). Two intervals, not one:
 * on a loaded machine the sampler's tick comes late, and a busy isolate's samples 1.5 ms apart
 * (1 ms interval) are busy all along.
 */
export function sampleMs(deltaUs: number, intervalMs: number): number {
  return Math.min(deltaUs / 1000, 2 * intervalMs);
}

/** True when the time to the next sample is longer than a sample stands for: the isolate left the thread between them. */
export const isGap = (deltaUs: number, intervalMs: number): boolean => deltaUs / 1000 > 2 * intervalMs;

export interface Slice {
  ms: number;
  /** The functions with the most samples in the slice (self time), "name file:line ms". */
  top: string[];
}

export interface CpuProfiler {
  /** Per isolate (target id, e.g. "core:user:push"): busy time and the longest slices. */
  stop(): Promise<Record<string, { busyMs: number; slices: Slice[]; byFunction?: string[] }>>;
}

const short = (url: string) => url.replace(/^.*\/(src|node_modules)\//, "$1/");

/**
 * The `count` longest busy stretches of a profile taken with samples every `intervalMs`. A stretch
 * ends at an idle sample, or where the next sample came more than two intervals later (the isolate
 * was not running in between: see `sampleMs`).
 */
export function longestSlices(p: Profile, count = 5, intervalMs = 1): { busyMs: number; slices: Slice[]; byFunction: string[] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const slices: { ms: number; self: Map<string, number> }[] = [];
  let current: { ms: number; self: Map<string, number> } | null = null;
  let busyMs = 0;
  // Self time per function over the whole profile (where a long task's time goes).
  const total = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const node = byId.get(p.samples[i]!)!;
    // A sample stands for the time until the next one, at most two intervals.
    const next = p.timeDeltas[i + 1] ?? 0;
    const ms = sampleMs(next, intervalMs);
    // Idle, or native code outside any JavaScript (between two tasks): the slice has ended.
    if (node.callFrame.functionName === "(idle)" || node.callFrame.functionName === "(program)") {
      current = null;
      continue;
    }
    busyMs += ms;
    if (!current) slices.push((current = { ms: 0, self: new Map() }));
    current.ms += ms;
    const f = node.callFrame;
    const name = `${f.functionName || "(anonymous)"} ${short(f.url)}:${f.lineNumber + 1}`;
    current.self.set(name, (current.self.get(name) ?? 0) + ms);
    total.set(name, (total.get(name) ?? 0) + ms);
    if (isGap(next, intervalMs)) current = null;
  }
  slices.sort((a, b) => b.ms - a.ms);
  return {
    busyMs,
    slices: slices.slice(0, count).map((s) => ({
      ms: s.ms,
      top: [...s.self.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 4)
        .map(([n, ms]) => `${n} ${ms.toFixed(0)} ms`),
    })),
    byFunction: [...total.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 30)
      .map(([n, ms]) => `${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / busyMs).toFixed(1).padStart(5)} %  ${n}`),
  };
}

/**
 * Starts a CPU profile (1 ms sampling) of the forge's own isolates, or with `everything` also of
 * Miniflare's (the cache, R2, KV, D1 and queue simulators: locally they share the one workerd
 * thread, so their work delays pages too).
 */
/** One isolate the inspector lists: its id ("core:user:edge", "r2:bucket:objects"...) and its socket. */
export interface InspectorTarget {
  id: string;
  webSocketDebuggerUrl: string;
}

/**
 * The inspector's list of isolates. workerd sometimes closes the connection in the middle of the
 * answer ("other side closed" after 31 KB, twice on big.git between two kinds of warm-probe, s11-warm):
 * asked again, up to three times.
 */
export async function inspectorTargets(inspectorPort: number): Promise<InspectorTarget[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as InspectorTarget[];
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

export async function profileCpu(inspectorPort: number, intervalUs = 1000, everything = false): Promise<CpuProfiler> {
  const all = await inspectorTargets(inspectorPort);
  const targets = await Promise.all(
    all
      .filter((t) => everything || t.id.startsWith("core:user:"))
      .map(
        (t) =>
          new Promise<{ id: string; ws: WebSocket; pending: Map<number, (r: unknown) => void> }>((resolve, reject) => {
            const ws = new WebSocket(t.webSocketDebuggerUrl);
            const target = { id: t.id, ws, pending: new Map<number, (r: unknown) => void>() };
            ws.onopen = () => resolve(target);
            ws.onerror = () => reject(new Error(`cannot reach the inspector target ${t.id}`));
            ws.onmessage = (m) => {
              const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown };
              if (msg.id !== undefined) target.pending.get(msg.id)?.(msg.result);
            };
          }),
      ),
  );
  let n = 0;
  const call = (t: (typeof targets)[number], method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      const id = ++n;
      t.pending.set(id, resolve);
      t.ws.send(JSON.stringify({ id, method, params }));
    });
  for (const t of targets) {
    await call(t, "Profiler.enable");
    await call(t, "Profiler.setSamplingInterval", { interval: intervalUs });
    await call(t, "Profiler.start");
    if (process.env.SLICES_DEBUG) console.error(`profiling ${t.id}`);
  }
  return {
    async stop() {
      const out: Record<string, { busyMs: number; slices: Slice[] }> = {};
      for (const t of targets) {
        if (process.env.SLICES_DEBUG) console.error(`stopping ${t.id}`);
        const r = (await call(t, "Profiler.stop")) as { profile: Profile };
        if (process.env.SLICES_DIR)
          writeFileSync(
            join(process.env.SLICES_DIR, `${t.id.replace(/\W/g, "-")}-${Date.now()}.cpuprofile`),
            // The interval beside the profile (thread-slices.ts reads it; DevTools ignores it).
            JSON.stringify({ ...r.profile, samplingIntervalUs: intervalUs }),
          );
        out[t.id] = longestSlices(r.profile, 5, intervalUs / 1000);
        t.ws.close();
      }
      return out;
    },
  };
}

export interface IdleWait {
  /** Windows profiled until the forge was idle (each `windowMs`). */
  windows: number;
  /** The busiest isolate's busy time in each window, in ms (the last `quietWindows` are the idle ones). */
  busy: number[];
}

/**
 * Waits until every forge isolate is idle: `quietWindows` windows in a row of `windowMs` each in
 * which no isolate was busy (per its CPU profile) for more than `maxBusyFraction` of the window.
 * This is how a measurement "alone" knows that the work left behind by an earlier step (derived
 * data after an import, background walks, queue consumers) has finished, without guessing a
 * sleep: three quiet windows span the post-push queue's 1 s batch timeout. Fails after
 * `maxWindows` busy windows, printing what kept the isolates busy.
 */
export async function waitForIdle(
  inspectorPort: number,
  opts: { windowMs?: number; maxBusyFraction?: number; quietWindows?: number; maxWindows?: number } = {},
): Promise<IdleWait> {
  const { windowMs = 1000, maxBusyFraction = 0.05, quietWindows = 3, maxWindows = 1200 } = opts;
  const busy: number[] = [];
  let quiet = 0;
  let last: Record<string, { busyMs: number; slices: Slice[] }> = {};
  while (quiet < quietWindows) {
    if (busy.length >= maxWindows) {
      printSlices("the last busy window", last);
      throw new Error(`the forge was still busy after ${busy.length} windows of ${windowMs} ms`);
    }
    const profiler = await profileCpu(inspectorPort);
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    last = await profiler.stop();
    const most = Math.max(0, ...Object.values(last).map((r) => r.busyMs));
    busy.push(most);
    quiet = most <= windowMs * maxBusyFraction ? quiet + 1 : 0;
  }
  return { windows: busy.length, busy };
}

/** Adds `more` (a later profile of the same isolates) to `into`: busy times summed, the longest slices kept. */
export function mergeSlices(
  into: Record<string, { busyMs: number; slices: Slice[] }>,
  more: Record<string, { busyMs: number; slices: Slice[] }>,
  count = 5,
): void {
  for (const [id, r] of Object.entries(more)) {
    const had = into[id] ?? { busyMs: 0, slices: [] };
    into[id] = {
      busyMs: had.busyMs + r.busyMs,
      slices: [...had.slices, ...r.slices].sort((a, b) => b.ms - a.ms).slice(0, count),
    };
  }
}

/** Prints each isolate's busy time and longest slices. */
export function printSlices(title: string, report: Record<string, { busyMs: number; slices: Slice[] }>): void {
  console.log(`\nlongest synchronous slices, ${title}`);
  for (const [id, r] of Object.entries(report)) {
    console.log(`  ${id}: busy ${r.busyMs.toFixed(0)} ms`);
    for (const s of r.slices) console.log(`    ${s.ms.toFixed(0).padStart(6)} ms  ${s.top.join("; ")}`);
  }
}
