// `node --import tsx bench/r2-read-accounting.ts --mode put; ... [--mode <mode>] [--mib 128] [--port 8402] [--inspector-port 9402]`
//
// What reading an R2 object front to back does to workerd's array-buffer figure (the inspector's
// backingStorageSize, which bench:import-large adds to the used heap): a worker writes an object
// of `--mib` MiB into a local R2 bucket, then reads it whole in one of these ways, as the pack
// indexer and the clone might (`--mode put` writes the object first, once per size), while the figure is sampled every 10 ms:
//   byob64k   one GET, its body read through a 64 KiB landing buffer, copied out (indexer pass 1)
//   byob1m    the same through a 1 MiB landing buffer
//   default   one GET, its body read with a default reader (a new chunk from the runtime each read)
//   ranged64k a ranged GET per 64 KiB read into a landing buffer (indexer pass 2's windows)
//   ranged4m  a ranged GET per 4 MiB, arrayBuffer() (the clone's stored-pack path)
//   ranged4mbyob a ranged GET per 4 MiB read through a 64 KiB landing into one reused 4 MiB buffer
//   upload8m  (a write) a multipart upload in parts of 8 MiB from one buffer; "sum" counts the
//             parts whose buffer the upload detached
// Each read also makes some JS garbage, as real code does. Prints the figure's peak, the reads,
// and V8's collections with their reasons when --trace-gc is among MINIFLARE_WORKERD_V8_FLAGS.
import { tmpdir } from "node:os";
import type { Readable } from "node:stream";
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";
import { userIsolate } from "./lib/heap";

const { values: opts } = parseArgs({
  options: {
    mode: { type: "string", default: "byob64k" },
    mib: { type: "string", default: "128" },
    port: { type: "string", default: "8402" },
    "inspector-port": { type: "string", default: "9402" },
  },
});
const script = `
async function readLanding(reader, landing, into) {
  const { value, done } = await reader.read(new Uint8Array(landing.buffer, 0, Math.min(landing.length, into.length)));
  into.set(value);
  return { n: value.length, done, landing: new Uint8Array(value.buffer) };
}
export default {
  async fetch(req, env) {
    const q = new URL(req.url).searchParams;
    const mode = q.get("mode");
    const size = Number(q.get("mib")) * 1024 * 1024;
    if (q.get("put") === "mp") {
      // As an import stores its pack: a multipart upload of parts (8 MiB here), completed.
      const piece = new Uint8Array(8 * 1024 * 1024);
      for (let i = 0; i < piece.length; i++) piece[i] = (i * 2654435761) >>> 24;
      const upload = await env.B.createMultipartUpload("obj");
      const parts = [];
      for (let at = 0; at < size; at += piece.length) parts.push(await upload.uploadPart(parts.length + 1, piece));
      await upload.complete(parts);
      return new Response("put");
    }
    if (q.get("put")) {
      const piece = new Uint8Array(1024 * 1024);
      for (let i = 0; i < piece.length; i++) piece[i] = (i * 2654435761) >>> 24;
      const { readable, writable } = new FixedLengthStream(size);
      const stored = env.B.put("obj", readable);
      const w = writable.getWriter();
      for (let at = 0; at < size; at += piece.length) await w.write(piece.slice());
      await w.close();
      await stored;
      return new Response("put");
    }
    let reads = 0;
    let sum = 0;
    const junk = () => {
      const j = [];
      for (let k = 0; k < 20; k++) j.push({ k, a: [k, k + 1] });
      return j.length;
    };
    const store = new Uint8Array(4 * 1024 * 1024);
    if (mode === "byob64k" || mode === "byob1m") {
      let landing = new Uint8Array(mode === "byob64k" ? 65536 : 1048576);
      const obj = await env.B.get("obj");
      const reader = obj.body.getReader({ mode: "byob" });
      let at = 0;
      for (;;) {
        const r = await readLanding(reader, landing, store.subarray(at % store.length, (at % store.length) + landing.length));
        landing = r.landing;
        at += r.n;
        reads++;
        sum += junk();
        if (r.done) break;
      }
    } else if (mode === "default") {
      const obj = await env.B.get("obj");
      const reader = obj.body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        reads++;
        sum += value[0] + junk();
      }
    } else if (mode === "ranged64k") {
      let landing = new Uint8Array(65536);
      for (let at = 0; at < size; at += 65536) {
        const obj = await env.B.get("obj", { range: { offset: at, length: 65536 } });
        const reader = obj.body.getReader({ mode: "byob" });
        let got = 0;
        for (;;) {
          const r = await readLanding(reader, landing, store.subarray(got, 65536));
          landing = r.landing;
          got += r.n;
          if (r.done || got === 65536) break;
        }
        reader.releaseLock();
        await obj.body.cancel().catch(() => {});
        reads++;
        sum += junk();
      }
    } else if (mode === "ranged4m") {
      const step = 4 * 1024 * 1024;
      for (let at = 0; at < size; at += step) {
        const obj = await env.B.get("obj", { range: { offset: at, length: step } });
        const bytes = new Uint8Array(await obj.arrayBuffer());
        reads++;
        sum += bytes[0] + junk();
      }
    } else if (mode === "ranged4mbyob") {
      const step = 4 * 1024 * 1024;
      let landing = new Uint8Array(65536);
      for (let at = 0; at < size; at += step) {
        const obj = await env.B.get("obj", { range: { offset: at, length: step } });
        const reader = obj.body.getReader({ mode: "byob" });
        let got = 0;
        for (;;) {
          const r = await readLanding(reader, landing, store.subarray(got, step));
          landing = r.landing;
          got += r.n;
          sum += junk();
          if (r.done || got === step) break;
        }
        reader.releaseLock();
        await obj.body.cancel().catch(() => {});
        reads++;
      }
    } else if (mode === "upload8m") {
      // Writes, not reads: a multipart upload of 8 MiB parts from one buffer (push's R2StreamWriter).
      let part = new Uint8Array(8 * 1024 * 1024);
      const upload = await env.B.createMultipartUpload("up");
      const parts = [];
      for (let at = 0; at < size; at += part.length) {
        if (part.byteLength === 0) {
          sum++; // detached by the upload: a new buffer each part
          part = new Uint8Array(8 * 1024 * 1024);
        }
        part[0] = at & 255;
        parts.push(await upload.uploadPart(parts.length + 1, part));
        reads++;
      }
      await upload.complete(parts);
    }
    return new Response(JSON.stringify({ reads, sum }));
  },
};`;
const inspectorPort = Number(opts["inspector-port"]);
const mf = new Miniflare({
  modules: true,
  script,
  compatibilityDate: "2025-09-01",
  inspectorPort,
  port: Number(opts.port),
  r2Buckets: ["B"],
  // The object is written by a first instance and read by a second (its writes' buffers would
  // otherwise be in the floor): both keep the bucket here.
  r2Persist: `${tmpdir()}/r2-read-accounting-${opts.mib}${process.env.MP ? "-mp" : ""}`,
  handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
    stdout.on("data", (d: Buffer) => process.stdout.write(d));
    stderr.on("data", (d: Buffer) => process.stderr.write(d));
  },
});
try {
  const url = await mf.ready;
  if (opts.mode === "put" || opts.mode === "putmp") {
    await (await fetch(`${url}?put=${opts.mode === "put" ? 1 : "mp"}&mib=${opts.mib}`)).text();
    process.exit(0);
  }
  const isolate = await userIsolate(inspectorPort);
  // A collection first, so every mode starts from the same floor.
  // (V8 frees swept buffers in the background: the figure settles a moment after the collection.)
  isolate.collect();
  await new Promise((r) => setTimeout(r, 1000));
  isolate.collect();
  await new Promise((r) => setTimeout(r, 1000));
  const floor = (await isolate.usage()).backingStorageSize ?? 0;
  let peak = 0;
  let peakUsed = 0;
  let running = true;
  const sampling = (async () => {
    while (running) {
      const u = await isolate.usage();
      peak = Math.max(peak, u.backingStorageSize ?? 0);
      peakUsed = Math.max(peakUsed, u.usedSize);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const started = performance.now();
  const res = (await (await fetch(`${url}?mode=${opts.mode}&mib=${opts.mib}`)).json()) as { reads: number; sum: number };
  const ms = performance.now() - started;
  running = false;
  await sampling;
  isolate.close();
  const m = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  console.log(
    `${opts.mode}: ${opts.mib} MiB in ${res.reads} reads (sum ${res.sum}), ${ms.toFixed(0)} ms; array buffers: floor ${m(floor)}, peak ${m(peak)}; peak used heap ${m(peakUsed)}`,
  );
} finally {
  await mf.dispose();
}
