// Used V8 heap of each workerd isolate, sampled through workerd's inspector (FORGE_INSPECTOR_PORT):
// Runtime.getHeapUsage on every target (one per worker) at an interval, keeping the peak. This is
// the figure Cloudflare's 128 MB isolate limit applies to, unlike the process's RSS.
// undici's WebSocket: Node 20 has no global one without a flag; Miniflare depends on undici.
import { WebSocket } from "undici";
import { inspectorTargets } from "./cpu-slices";

interface Target {
  title: string;
  ws: WebSocket;
  pending: Map<number, (value: Usage) => void>;
  peak: number;
  /** Peak of used heap plus backing stores (typed arrays' bytes, outside the V8 heap). */
  peakWithBuffers: number;
  /** Seconds from the sampler's start to that peak. */
  peakWithBuffersAt: number;
  last: number;
  lastWithBuffers: number;
  /** The edge's caches (bytes held by name) at the last sample and at the peak with array buffers. */
  lastCaches?: Record<string, number>;
  peakCaches?: Record<string, number>;
  /** The id of the last caches question sent. */
  cachesAsk?: number;
  /** The isolate's execution context, once the inspector named it (Runtime.enable). */
  contextId?: number;
}

/** Evaluated in the isolate: its caches' bytes by name (utils/edge-budget.ts), as JSON, or null. */
const CACHES = `JSON.stringify(globalThis[Symbol.for("edgeforge.edgeCaches")]?.() ?? null)`;

/** The caches that held anything, largest first, in MiB, and their sum. */
export function cachesLine(caches: Record<string, number>): string {
  const held = Object.entries(caches)
    .filter(([, b]) => b > 0)
    .sort((a, b) => b[1] - a[1]);
  const mib = (n: number) => (n / 2 ** 20).toFixed(1);
  return `${mib(held.reduce((n, [, b]) => n + b, 0))} MiB in all: ${held.map(([name, b]) => `${name} ${mib(b)}`).join(", ")}`;
}

function cachesOf(value: unknown): Record<string, number> | undefined {
  if (typeof value !== "string") return undefined;
  const all = JSON.parse(value) as Record<string, { bytes: number }> | null;
  if (!all) return undefined;
  return Object.fromEntries(Object.entries(all).map(([name, c]) => [name, c.bytes]));
}

interface Usage {
  usedSize: number;
  totalSize: number;
  /** Array buffers and external strings: not in usedSize, not capped by --max-old-space-size. */
  backingStorageSize?: number;
}

export interface HeapPeak {
  used: number;
  withBuffers: number;
  /** Seconds from the sampler's start to the peak with array buffers. */
  withBuffersAt?: number;
  /**
   * The last sample's figures. With `live`, what is held once freed buffers are gone: V8 frees
   * array buffers' memory after a collection, in the background, so the first samples after one
   * may still count them.
   */
  lastUsed: number;
  lastWithBuffers: number;
  /**
   * Bytes each per-isolate cache held at the sample of the peak with array buffers (the edge's
   * `utils/edge-budget.ts` registry; absent for a worker without it).
   */
  caches?: Record<string, number>;
}

export interface HeapSampler {
  /** Peaks per worker (target title, e.g. "core:user:push") since start, in bytes. */
  stop(): Promise<Record<string, HeapPeak>>;
}

/**
 * `trace` prints each worker's used heap once a second (to see which phase of an operation peaks).
 * `live` collects garbage before each sample (HeapProfiler.collectGarbage), so the figures are what
 * is really held rather than what the collector has not reclaimed yet; it slows the work down.
 * `thorough` (with `live`) also runs the collections of a heap snapshot before each sample: only
 * those free everything unreachable in workerd (slow: for figures after a step, not during it).
 */
export async function sampleHeap(
  inspectorPort: number,
  intervalMs = 100,
  trace = false,
  live = false,
  thorough = false,
): Promise<HeapSampler> {
  const all = await inspectorTargets(inspectorPort);
  // The forge's own workers ("core:user:edge", "core:user:push"), not Miniflare's storage services.
  const list = all
    .filter((t) => t.id.startsWith("core:user:"))
    .map((t) => ({ title: t.id, webSocketDebuggerUrl: t.webSocketDebuggerUrl }));
  let id = 0;
  const targets: Target[] = await Promise.all(
    list.map(
      (t) =>
        new Promise<Target>((resolve, reject) => {
          const ws = new WebSocket(t.webSocketDebuggerUrl);
          const target: Target = {
            title: t.title,
            ws,
            pending: new Map(),
            peak: 0,
            peakWithBuffers: 0,
            peakWithBuffersAt: 0,
            last: 0,
            lastWithBuffers: 0,
          };
          // Runtime.evaluate (the caches' bytes) needs the isolate's context, known once Runtime is enabled.
          ws.onopen = () => {
            ws.send(JSON.stringify({ id: ++id, method: "Runtime.enable" }));
            resolve(target);
          };
          ws.onerror = () => reject(new Error(`cannot reach the inspector target ${t.title}`));
          ws.onmessage = (m) => {
            const msg = JSON.parse(String(m.data)) as {
              id?: number;
              method?: string;
              params?: { context?: { id: number } };
              result?: Usage & { result?: { value?: unknown } };
            };
            // The context known, Runtime is disabled again: while enabled, every console.log of
            // the isolate (a log line per request) is sent here too, which the warm page paid for
            // only while the sampler ran (bench/scale-results.md, session 19).
            if (msg.method === "Runtime.executionContextCreated" && target.contextId === undefined) {
              target.contextId = msg.params?.context?.id;
              ws.send(JSON.stringify({ id: ++id, method: "Runtime.disable" }));
            }
            if (msg.id !== undefined && msg.id === target.cachesAsk) {
              target.lastCaches = cachesOf(msg.result?.result?.value);
              if (process.env.HEAP_DEBUG && !target.lastCaches)
                console.log(`caches of ${target.title}: ${String(m.data).slice(0, 300)}`);
            } else if (msg.id !== undefined && msg.result) target.pending.get(msg.id)?.(msg.result);
            if (msg.id !== undefined) target.pending.delete(msg.id);
          };
        }),
    ),
  );
  const ask = (t: Target) =>
    new Promise<void>((resolve) => {
      const n = ++id;
      t.pending.set(n, (r) => {
        t.last = r.usedSize;
        t.lastWithBuffers = r.usedSize + (r.backingStorageSize ?? 0);
        t.peak = Math.max(t.peak, r.usedSize);
        if (t.lastWithBuffers > t.peakWithBuffers) {
          t.peakWithBuffers = t.lastWithBuffers;
          t.peakWithBuffersAt = (performance.now() - start) / 1000;
          t.peakCaches = t.lastCaches;
        }
        resolve();
      });
      // A target that died (workerd crashed) answers nothing: do not wait for it.
      setTimeout(resolve, 5 * intervalMs + (live ? 2000 : 0) + (thorough ? 30_000 : 0));
      if (t.ws.readyState !== WebSocket.OPEN) return;
      // The inspector answers in order: the usage is read after the collection.
      if (live) t.ws.send(JSON.stringify({ id: ++id, method: "HeapProfiler.collectGarbage" }));
      // collectGarbage leaves garbage that workerd's wrappers of native objects (a zlib stream or a
      // hash per call) and unswept array buffers hold; a heap snapshot's collections free it (its
      // chunks are dropped: only the collection is wanted).
      if (thorough)
        t.ws.send(JSON.stringify({ id: ++id, method: "HeapProfiler.takeHeapSnapshot", params: { reportProgress: false } }));
      // The caches' bytes, asked before the usage so that they answer first, from the same moment.
      t.cachesAsk = ++id;
      t.ws.send(
        JSON.stringify({
          id: t.cachesAsk,
          method: "Runtime.evaluate",
          params: { expression: CACHES, returnByValue: true, contextId: t.contextId },
        }),
      );
      t.ws.send(JSON.stringify({ id: n, method: "Runtime.getHeapUsage" }));
    });
  let running = true;
  const start = performance.now();
  let printed = 0;
  const loop = (async () => {
    while (running) {
      await Promise.all(targets.map(ask));
      const elapsed = performance.now() - start;
      if (trace && elapsed - printed >= 1000) {
        printed = elapsed;
        console.log(
          `  ${(elapsed / 1000).toFixed(0)} s (${new Date().toISOString().slice(11, 21)}): ${targets.map((t) => `${t.title} ${(t.last / 2 ** 20).toFixed(1)} MiB (${(t.lastWithBuffers / 2 ** 20).toFixed(1)})`).join(", ")}`,
        );
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      for (const t of targets) t.ws.close();
      return Object.fromEntries(
        targets.map((t) => [
          t.title,
          {
            used: t.peak,
            withBuffers: t.peakWithBuffers,
            withBuffersAt: t.peakWithBuffersAt,
            lastUsed: t.last,
            lastWithBuffers: t.lastWithBuffers,
            caches: t.peakCaches,
          },
        ]),
      );
    },
  };
}

/** The first user worker's isolate through the inspector: its heap figures on demand, a collection. */
export interface UserIsolate {
  usage(): Promise<Usage>;
  /** Asks for a full collection (HeapProfiler.collectGarbage) without waiting for it. */
  collect(): void;
  close(): void;
}

/** Opens the inspector of the first "core:user" target (a bench's one worker) on `inspectorPort`. */
export async function userIsolate(inspectorPort: number): Promise<UserIsolate> {
  const list = await inspectorTargets(inspectorPort);
  const target = list.find((t) => t.id.startsWith("core:user"));
  if (!target) throw new Error(`no user worker on the inspector at port ${inspectorPort}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve) => (ws.onopen = resolve));
  let id = 0;
  const pending = new Map<number, (r: Usage) => void>();
  ws.onmessage = (m) => {
    const d = JSON.parse(String(m.data)) as { id: number; result: Usage };
    pending.get(d.id)?.(d.result);
    pending.delete(d.id);
  };
  return {
    usage: () =>
      new Promise<Usage>((resolve) => {
        pending.set(++id, resolve);
        ws.send(JSON.stringify({ id, method: "Runtime.getHeapUsage" }));
      }),
    collect: () => ws.send(JSON.stringify({ id: ++id, method: "HeapProfiler.collectGarbage" })),
    close: () => ws.close(),
  };
}
