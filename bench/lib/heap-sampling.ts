// V8's sampling heap profiler in this Node process, for benchmarks that run forge code in Node:
// what allocates, with the objects the collector freed counted too (what the garbage is made of).
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";

/** One sampled allocation site of a heap profile (the .heapprofile format of Chrome DevTools). */
export interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

/**
 * Starts sampling when `file` is given (nothing otherwise); `stop` writes the profile to `file` for
 * Chrome DevTools and returns its root, or null when nothing was sampled.
 */
export async function startHeapSampling(file: string | undefined): Promise<{ stop(): Promise<HeapNode | null> }> {
  if (!file) return { stop: async () => null };
  const session = new Session();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (err, r) => (err ? reject(err) : resolve(r))));
  session.connect();
  await post("HeapProfiler.startSampling", {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return {
    async stop() {
      const { profile } = (await post("HeapProfiler.stopSampling")) as { profile: { head: HeapNode } };
      session.disconnect();
      writeFileSync(file, JSON.stringify(profile));
      return profile.head;
    },
  };
}
