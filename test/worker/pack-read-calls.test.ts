// How many reads JS makes to get a pack out of R2: an object stored in parts (every imported or
// pushed pack) streams in chunks of 4 KiB, and every read of one is a round of promises, results
// and views that outlives the young generation when it waits (bench:import-large --promoted).
// Reads wait until a landing buffer is full (workerd's readAtLeast): one read per 256 KiB front to
// back, one per 64 KiB window.
import { env as workerEnv } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Cursor } from "../../src/git/pack-reading";
import { PackWindows, PASS_WINDOW } from "../../src/git/pack-windows";
import { WindowedSource } from "../../src/git/range-source";
import { LANDING, STREAM_SPAN } from "../../src/git/stream-reads";
import { R2Source } from "../../src/storage/r2-source";
import { uploadPackV2 } from "../../src/git/upload-pack";
import { DELIM, FLUSH, pkt } from "../../src/git/pkt-line";
import { setHash } from "../../src/git/oid";
import { sendStoredPack } from "../../src/git/stored-pack";
import { concatBytes } from "../../src/utils/bytes";

const env = workerEnv as unknown as { OBJECTS: R2Bucket };

const PART = 5 * 1024 * 1024;

/** An object of `parts` parts of 5 MiB (each byte a function of its offset), stored as an import stores a pack. */
async function multipartObject(key: string, parts: number): Promise<number> {
  const upload = await env.OBJECTS.createMultipartUpload(key);
  const done: R2UploadedPart[] = [];
  for (let p = 0; p < parts; p++) {
    const bytes = new Uint8Array(PART);
    for (let i = 0; i < bytes.length; i++) bytes[i] = ((p * PART + i) * 2654435761) >>> 24;
    done.push(await upload.uploadPart(p + 1, bytes));
  }
  await upload.complete(done);
  return parts * PART;
}

/**
 * The bucket, counting the reads made of every body it returns (read and readAtLeast alike), its
 * GETs, the bytes each GET asked for (`asked`), and the bodies read whole into a new array buffer
 * (`arrayBuffer()`).
 */
function countingBucket(): {
  bucket: R2Bucket;
  reads: () => number;
  gets: () => number;
  wholeReads: () => number;
  asked: number[];
} {
  const asked: number[] = [];
  let reads = 0;
  let gets = 0;
  let wholeReads = 0;
  const counted = (body: ReadableStream<Uint8Array>) =>
    new Proxy(body, {
      get(target, prop) {
        if (prop !== "getReader") {
          const v = Reflect.get(target, prop);
          return typeof v === "function" ? v.bind(target) : v;
        }
        return (options?: { mode: "byob" }) => {
          const reader = target.getReader(options as { mode: "byob" });
          return new Proxy(reader, {
            get(r, name) {
              const v = Reflect.get(r, name);
              if (typeof v !== "function") return v;
              if (name === "read" || name === "readAtLeast") {
                return (...args: unknown[]) => {
                  reads++;
                  return (v as (...a: unknown[]) => unknown).apply(r, args);
                };
              }
              return v.bind(r);
            },
          });
        };
      },
    });
  const bucket = new Proxy(env.OBJECTS, {
    get(target, prop) {
      if (prop === "get") {
        return async (key: string, options?: R2GetOptions) => {
          gets++;
          const range = options?.range as { offset?: number; length?: number } | undefined;
          asked.push(range?.length ?? Number.POSITIVE_INFINITY);
          const obj = await target.get(key, options);
          if (!obj || !("body" in obj)) return obj;
          const body = counted(obj.body);
          return new Proxy(obj, {
            get: (o, p) => {
              if (p === "body") return body;
              const v = Reflect.get(o, p);
              if (p === "arrayBuffer") wholeReads++;
              return typeof v === "function" ? v.bind(o) : v;
            },
          });
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { bucket, reads: () => reads, gets: () => gets, wholeReads: () => wholeReads, asked };
}

const expected = (at: number) => ((at * 2654435761) >>> 24) & 255;

describe("reading a pack stored in parts", () => {
  it("reads it front to back with one read per 256 KiB, not one per 4 KiB chunk (indexer pass 1)", async () => {
    const size = await multipartObject("read-calls/front-to-back", 3);
    const { bucket, reads } = countingBucket();
    const cursor = new Cursor(new R2Source(bucket, "read-calls/front-to-back", size));
    let checked = 0;
    for (let at = 0; at < size; at += 1024 * 1024) {
      await cursor.ensure(at, 1024 * 1024);
      // The bytes are the object's, at their offsets.
      for (const p of [at, at + 4095, at + 65537]) {
        expect(cursor.buf[cursor.at(p)]).toBe(expected(p));
        checked++;
      }
    }
    await cursor.close();
    expect(checked).toBe(45);
    // 15 MiB: 60 reads of 256 KiB and one a request that sees its end; 3,840 of 4 KiB chunks before.
    expect(LANDING).toBe(256 * 1024);
    expect(reads()).toBeLessThanOrEqual(size / LANDING + size / STREAM_SPAN + 2);
  });

  it("asks no GET for more than a MiB: the local R2 simulator sends a GET's range in one unbroken stretch of the thread (indexer pass 1)", async () => {
    // Miniflare pipes an object stored in parts from its files 4 KiB a chunk, and a file read
    // never waits: one GET of the whole pack (538 MiB) held every other request of the local
    // forge for 7 to 47 s, once per import or push. What one GET asks for bounds that stretch.
    const size = await multipartObject("read-calls/spans", 3);
    const { bucket, asked } = countingBucket();
    const cursor = new Cursor(new R2Source(bucket, "read-calls/spans", size));
    for (let at = 0; at < size; at += 1024 * 1024) await cursor.ensure(at, 1024 * 1024);
    // A jump (past an object inflated on its own) starts a new request there, also bounded.
    await cursor.ensure(size - 100, 100);
    expect(cursor.buf[cursor.at(size - 1)]).toBe(expected(size - 1));
    await cursor.close();
    expect(STREAM_SPAN).toBe(1024 * 1024);
    // 15 MiB as 15 GETs of 1 MiB; the base asked for the whole rest, 15 MiB, in one.
    expect(Math.max(...asked)).toBeLessThanOrEqual(STREAM_SPAN);
    expect(asked.reduce((a, b) => a + b, 0)).toBe(size);
  });

  it("fills a second-pass window of 64 KiB with one read (indexer pass 2)", async () => {
    const size = await multipartObject("read-calls/windows", 2);
    const { bucket, reads } = countingBucket();
    const windows = new PackWindows(new R2Source(bucket, "read-calls/windows", size), {
      buffer: new Uint8Array(PASS_WINDOW * 4),
    });
    const starts = [0, PART - 100, 3 * PASS_WINDOW + 7, PART + 12345, 2 * PART - 10];
    for (const start of starts) {
      const bytes = await windows.read(start, start + 20);
      for (let i = 0; i < bytes.length; i++) expect(bytes[i]).toBe(expected(start + i));
    }
    // Seven windows (two reads span two), each one read of its body and one that sees its end;
    // 16 reads a window before.
    expect(reads()).toBeLessThanOrEqual(7 * 2);
  });
});

describe("a clone's stored pack", () => {
  it("goes out from ranged GETs of a MiB in buffers of about 1 MiB, none read whole into a new array buffer", async () => {
    // 15 MiB stored in parts: not a real pack, but the stored-pack path sends any bytes as they are.
    const key = "read-calls/stored-pack";
    const size = await multipartObject(key, 3);
    const { bucket, gets, wholeReads, asked } = countingBucket();
    const tip = "a".repeat(40);
    const view = {
      head: "refs/heads/main",
      refs: [{ name: "refs/heads/main", oid: tip }],
      store: () => Promise.reject(new Error("a clone of the stored pack opens no object store")),
      completePack: { source: new WindowedSource(new R2Source(bucket, key, size)), objects: 1, closure: setHash([tip]) },
    };
    const request = [pkt("command=fetch\n"), DELIM, pkt("ofs-delta\n"), pkt(`want ${tip}\n`), pkt("done\n"), FLUSH];
    const result = uploadPackV2(view, concatBytes(request));
    const chunks: Uint8Array[] = [];
    for await (const chunk of result.stream as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
    await result.done;

    // The bytes: "packfile", then band 1 carries the stored object byte for byte, then a flush.
    const all = concatBytes(chunks);
    const hex = (o: number) => Number.parseInt(new TextDecoder().decode(all.subarray(o, o + 4)), 16);
    let o = 0;
    let sent = 0;
    let mismatches = 0;
    while (hex(o) !== 0) {
      const length = hex(o);
      if (all[o + 4] === 1) {
        for (let i = o + 5; i < o + length; i++) if (all[i] !== expected(sent + i - o - 5)) mismatches++;
        sent += length - 5;
      }
      o += length;
    }
    expect(o + 4).toBe(all.length);
    expect(sent).toBe(size);
    expect(mismatches).toBe(0);

    // Ranged GETs of a MiB streamed (four of 4 MiB once, each read whole by arrayBuffer(); then one
    // of the whole pack, which held the local forge's thread as long as the simulator sent it),
    // and no buffer handed to the response over 16 packets (4 MiB and more before).
    expect(gets()).toBe(size / STREAM_SPAN);
    expect(Math.max(...asked)).toBeLessThanOrEqual(STREAM_SPAN);
    expect(wholeReads()).toBe(0);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(16 * 65520);
  });

  it("goes out bare, or in the small packets of side-band, byte for byte", async () => {
    const key = "read-calls/stored-pack-old-clients";
    const size = await multipartObject(key, 1);
    for (const max of [null, 999 - 5]) {
      const { bucket, gets } = countingBucket();
      const chunks: Uint8Array[] = [];
      await sendStoredPack(new R2Source(bucket, key, size), async (c) => void chunks.push(c), max);
      const all = concatBytes(chunks);
      let payload = all;
      if (max !== null) {
        payload = new Uint8Array(size);
        let p = 0;
        for (let o = 0; o < all.length; ) {
          const length = Number.parseInt(new TextDecoder().decode(all.subarray(o, o + 4)), 16);
          expect(all[o + 4]).toBe(1);
          expect(length - 5).toBeLessThanOrEqual(max);
          payload.set(all.subarray(o + 5, o + length), p);
          p += length - 5;
          o += length;
        }
        expect(p).toBe(size);
      }
      expect(payload.length).toBe(size);
      let mismatches = 0;
      for (let i = 0; i < size; i++) if (payload[i] !== expected(i)) mismatches++;
      expect(mismatches).toBe(0);
      expect(gets()).toBe(size / STREAM_SPAN);
    }
  });
});
