// `node --import tsx bench/byob-accounting.ts [--mode transfer|copy] [--reads 2000] [--port 8403] [--inspector-port 9403]`
//
// What workerd's array-buffer figure (the inspector's backingStorageSize, which bench:import-large
// adds to the used heap) makes of BYOB reads. A worker reads `--reads` byte streams of 64 KiB,
// each into an 8 MiB buffer: "transfer" hands the reader a view of the 8 MiB buffer (the read
// transfers the whole buffer, and the bytes come back under a new ArrayBuffer), "copy" a 64 KiB
// landing buffer whose bytes are then copied in (git/stream-reads.ts readChunk). Each read makes
// some JS garbage, as the indexer does. Prints the figure's peak and workerd's resident peak.
import { execSync } from "node:child_process";
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";
import { userIsolate } from "./lib/heap";

const { values: opts } = parseArgs({
  options: {
    mode: { type: "string", default: "transfer" },
    reads: { type: "string", default: "2000" },
    port: { type: "string", default: "8403" },
    "inspector-port": { type: "string", default: "9403" },
  },
});
const script = `
export default {
  async fetch(req) {
    const q = new URL(req.url).searchParams;
    const mode = q.get("mode");
    const reads = Number(q.get("reads"));
    const L = 64 * 1024;
    let store = new Uint8Array(8 * 1024 * 1024);
    let landing = new Uint8Array(L);
    const kept = [];
    let total = 0;
    for (let i = 0; i < reads; i++) {
      const body = new ReadableStream({
        type: "bytes",
        pull(c) {
          const v = c.byobRequest.view;
          v.fill(i & 255);
          c.byobRequest.respond(v.length);
          c.close();
        },
      });
      const reader = body.getReader({ mode: "byob" });
      const at = (i * L) % store.length;
      if (mode === "transfer") {
        const { value } = await reader.read(new Uint8Array(store.buffer, at, L));
        store = new Uint8Array(value.buffer);
      } else {
        const { value } = await reader.read(new Uint8Array(landing.buffer, 0, L));
        landing = new Uint8Array(value.buffer);
        store.set(landing, at);
      }
      total += store[at];
      const junk = [];
      for (let k = 0; k < 200; k++) junk.push({ k, s: "x" + k, a: [k, k + 1] });
      if (i % 7 === 0) kept.push(junk);
      if (kept.length > 50) kept.shift();
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    return new Response(String(total));
  },
};`;
const inspectorPort = Number(opts["inspector-port"]);
const mf = new Miniflare({ modules: true, script, compatibilityDate: "2025-09-01", inspectorPort, port: Number(opts.port) });
try {
  const url = await mf.ready;
  const isolate = await userIsolate(inspectorPort);
  let peak = 0;
  let running = true;
  const sampling = (async () => {
    while (running) {
      peak = Math.max(peak, (await isolate.usage()).backingStorageSize ?? 0);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const res = await fetch(`${url}?mode=${opts.mode}&reads=${opts.reads}`);
  await res.text();
  running = false;
  await sampling;
  isolate.close();
  // workerd's resident peak: the figure above is not all memory the process holds.
  const kids = execSync(`pgrep -P ${process.pid}`).toString().trim().split("\n");
  const hwm = kids
    .map((k) => {
      try {
        return execSync(`grep VmHWM /proc/${k}/status`, { stdio: ["ignore", "pipe", "ignore"] })
          .toString()
          .trim()
          .replace(/\s+/g, " ");
      } catch {
        return "";
      }
    })
    .filter(Boolean);
  console.log(
    `${opts.mode}: ${opts.reads} reads of 64 KiB; peak array buffers ${(peak / 2 ** 20).toFixed(1)} MiB; workerd ${hwm.join(", ")}`,
  );
} finally {
  await mf.dispose();
}
