// How many reads JS makes to get a pack out of R2: an object stored in parts (every imported or
// pushed pack) streams in chunks of 4 KiB, and every read of one is a round of promises, results
// and views that outlives the young generation when it waits (bench:import-large --promoted).
// Reads wait until a landing buffer is full (workerd's readAtLeast): one read per 256 KiB front to
// back, one per 64 KiB window.
import { env as workerEnv } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Cursor } from "../../src/git/pack-reading";
import { PackWindows, PASS_WINDOW } from "../../src/git/pack-windows";
import { LANDING } from "../../src/git/range-source";
import { R2Source } from "../../src/storage/r2-source";

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

/** The bucket, counting the reads made of every body it returns (read and readAtLeast alike). */
function countingBucket(): { bucket: R2Bucket; reads: () => number } {
  let reads = 0;
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
          const obj = await target.get(key, options);
          if (!obj || !("body" in obj)) return obj;
          const body = counted(obj.body);
          return new Proxy(obj, { get: (o, p) => (p === "body" ? body : Reflect.get(o, p)) });
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { bucket, reads: () => reads };
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
    // 15 MiB: 60 reads of 256 KiB (and the one that sees the end); 3,840 of 4 KiB chunks before.
    expect(LANDING).toBe(256 * 1024);
    expect(reads()).toBeLessThanOrEqual(size / LANDING + 2);
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
