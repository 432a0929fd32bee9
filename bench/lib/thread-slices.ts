// The workerd thread as one timeline: every isolate's CPU profile (bench/lib/cpu-slices.ts keeps
// them with SLICES_DIR) laid on the shared clock, so that a stretch in which some isolate was busy
// all the time shows as one slice, whoever ran it. Locally every worker, Durable Object and
// Miniflare simulator shares that thread, and a new request is read only between such stretches.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sampleMs } from "./cpu-slices";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
  /** Written by cpu-slices.ts beside the profile; 1 ms when absent (what warm-probe and bench:scale use). */
  samplingIntervalUs?: number;
}

/** Who ran a sample: the forge's own isolates by name, Miniflare's by the simulator they are. */
export function isolateGroup(target: string): string {
  if (target.startsWith("core-user-")) return target.slice("core-user-".length);
  if (target.startsWith("cache-")) return "Cache API (simulator)";
  if (target.startsWith("r2-")) return "R2 (simulator)";
  if (target.startsWith("queues-")) return "queues (simulator)";
  if (target.startsWith("kv-")) return "KV (simulator)";
  if (target.startsWith("d1-")) return "D1 (simulator)";
  return "other (Miniflare)";
}

interface Sample {
  at: number;
  ms: number;
  group: string;
  fn: string;
}

export interface ThreadReport {
  wallMs: number;
  busyMs: number;
  /** Busy time per isolate group. */
  byGroup: Map<string, number>;
  /** Busy time per "group: function" (self time). */
  byFunction: Map<string, number>;
  /** Lengths of the stretches in which the thread never went idle, longest first. */
  stretches: number[];
}

const short = (url: string) => url.replace(/^.*\/(src|node_modules|build)\//, "$1/");

/**
 * Reads every `.cpuprofile` in `dir` (one per isolate, taken over the same phase). A sample stands
 * for the time to its isolate's next one, at most two sampling intervals (`sampleMs`): an isolate's
 * profiler samples only while it runs, so a longer wait to the next sample is time the thread
 * spent elsewhere or idle, not in that isolate.
 */
export function threadReport(dir: string, gapMs = 0.5): ThreadReport {
  const samples: Sample[] = [];
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))) {
    const group = isolateGroup(file.replace(/-\d+\.cpuprofile$/, ""));
    const p = JSON.parse(readFileSync(join(dir, file), "utf8")) as Profile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const intervalMs = (p.samplingIntervalUs ?? 1000) / 1000;
    let t = p.startTime;
    for (let i = 0; i < p.samples.length; i++) {
      t += p.timeDeltas[i] ?? 0;
      const ms = sampleMs(p.timeDeltas[i + 1] ?? 0, intervalMs);
      first = Math.min(first, t);
      last = Math.max(last, t);
      const f = byId.get(p.samples[i]!)!.callFrame;
      if (f.functionName === "(idle)" || f.functionName === "(program)") continue;
      samples.push({ at: t / 1000, ms, group, fn: `${f.functionName || "(anonymous)"} ${short(f.url)}:${f.lineNumber + 1}` });
    }
  }
  samples.sort((a, b) => a.at - b.at);
  const byGroup = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const stretches: number[] = [];
  let start = -1;
  let end = -1;
  let busyMs = 0;
  for (const s of samples) {
    byGroup.set(s.group, (byGroup.get(s.group) ?? 0) + s.ms);
    const key = `${s.group}: ${s.fn}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + s.ms);
    // Samples of different isolates overlap in time (each profiler samples on its own); a stretch
    // is their union, broken where no isolate was busy for more than `gapMs`.
    if (start < 0 || s.at > end + gapMs) {
      if (start >= 0) {
        stretches.push(end - start);
        busyMs += end - start;
      }
      start = s.at;
      end = s.at + s.ms;
    } else end = Math.max(end, s.at + s.ms);
  }
  if (start >= 0) {
    stretches.push(end - start);
    busyMs += end - start;
  }
  stretches.sort((a, b) => b - a);
  return { wallMs: (last - first) / 1000, busyMs, byGroup, byFunction, stretches };
}

/** Prints a report: busy share, stretch lengths (p50, p90, p99, max), groups, top functions. */
export function printThreadReport(title: string, r: ThreadReport, top = 12): void {
  const q = (p: number) => r.stretches[Math.floor(((100 - p) / 100) * (r.stretches.length - 1))] ?? 0;
  const total = [...r.byGroup.values()].reduce((a, b) => a + b, 0);
  console.log(
    `\nthe workerd thread, ${title}: ${r.wallMs.toFixed(0)} ms wall, busy ${r.busyMs.toFixed(0)} ms ` +
      `(${((100 * r.busyMs) / Math.max(1, r.wallMs)).toFixed(0)}%) in ${r.stretches.length} stretches; ` +
      `stretch p50 ${q(50).toFixed(1)} ms, p90 ${q(90).toFixed(1)} ms, p99 ${q(99).toFixed(1)} ms, max ${q(100).toFixed(1)} ms`,
  );
  for (const [g, ms] of [...r.byGroup.entries()].sort((a, b) => b[1] - a[1]))
    console.log(`  ${g.padEnd(24)} ${ms.toFixed(0).padStart(6)} ms  ${((100 * ms) / total).toFixed(0).padStart(3)}%`);
  for (const [f, ms] of [...r.byFunction.entries()].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`    ${ms.toFixed(0).padStart(6)} ms  ${f}`);
}
