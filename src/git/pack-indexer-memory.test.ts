// Indexing a pack of hundreds of thousands of objects fits one isolate's heap: the workers pool
// runs workerd with Cloudflare's 128 MB cap (vitest.config.ts), where an indexer that keeps an
// object, map entries and a hex string per entry runs out of memory and crashes the runtime. With
// a spill store, what the indexer holds is a few bytes an object plus fixed budgets: its .idx
// records go to storage in sorted runs and the .idx comes out as a stream.
import { describe, expect, it, vi } from "vitest";
import { MemorySpillStore } from "./spill-memory";
import { bytesToHex, hashObject, ObjectHasher, type ObjectType, sha1 } from "./oid";
import { encodeEntryHeader, OBJ_OFS_DELTA, packHeader, typeNumber } from "./pack-format";
import { PackIndex } from "./pack-index";
import { indexPack, indexPackTo } from "./pack-indexer";
import { Entries } from "./pack-entries";
import { HeldBytes } from "./index-records";
import { MemorySource, type RangeSource } from "./range-source";
import { LANDING, readStreamInto } from "./stream-reads";
import { concatBytes } from "../utils/bytes";
import { deflate } from "./zlib";

/** Appends bytes to one preallocated buffer: the test's own pack must not weigh on the heap. */
class Writer {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}
  put(...values: number[]): void {
    for (const v of values) this.bytes[this.at++] = v;
  }
  putBytes(data: Uint8Array): void {
    this.bytes.set(data, this.at);
    this.at += data.length;
  }
  /** A zlib stream of one stored block: cheap to build for many tiny entries (no compressor). */
  stored(data: Uint8Array): void {
    this.put(0x78, 0x01, 0x01, data.length & 255, data.length >> 8, ~data.length & 255, (~data.length >> 8) & 255);
    this.putBytes(data);
    let a = 1;
    let b = 0;
    for (const byte of data) {
      a = (a + byte) % 65521;
      b = (b + a) % 65521;
    }
    this.put(b >> 8, b & 255, a >> 8, a & 255);
  }
}

/** The OFS_DELTA distance encoding (big-endian 7-bit groups, each continuation minus one). */
function ofsDistance(d: number): number[] {
  const bytes = [d & 127];
  while ((d = Math.floor(d / 128)) > 0) {
    d--;
    bytes.unshift(0x80 | (d & 127));
  }
  return bytes;
}

/** `pairs` distinct small blobs, each followed by an OFS_DELTA that appends a line to it. */
function pairsPack(pairs: number): Uint8Array {
  const enc = new TextEncoder();
  // At most 48 bytes a pair: blob entry (header, 11 bytes of zlib framing, up to 14 of data), delta
  // entry (header, 2 bytes of distance, framing, 7 of delta).
  const w = new Writer(new Uint8Array(12 + pairs * 48 + 20));
  w.putBytes(packHeader(pairs * 2));
  for (let i = 0; i < pairs; i++) {
    const base = enc.encode(`blob ${i}\n`);
    const baseAt = w.at;
    w.putBytes(encodeEntryHeader(typeNumber("blob"), base.length));
    w.stored(base);
    // Copy the whole base (offset 0, size base.length), then insert "+\n".
    const delta = new Uint8Array([base.length, base.length + 2, 0x90, base.length, 2, 0x2b, 0x0a]);
    const deltaAt = w.at;
    w.putBytes(encodeEntryHeader(OBJ_OFS_DELTA, delta.length));
    w.put(...ofsDistance(deltaAt - baseAt));
    w.stored(delta);
  }
  const bodyEnd = w.at;
  w.putBytes(new Uint8Array(sha1().update(w.bytes.subarray(0, bodyEnd)).digest()));
  return w.bytes.subarray(0, w.at);
}

/**
 * A source read as a byte stream into the reader's own buffer, as an R2 body is, that notes the
 * size of every buffer the reader hands it (the indexer's read buffer).
 */
function byteStreamSource(id: string, bytes: Uint8Array): RangeSource & { readBuffers: number[] } {
  const memory = new MemorySource(id, bytes);
  const readBuffers: number[] = [];
  return {
    id,
    size: bytes.length,
    readBuffers,
    read: (start, end) => memory.read(start, end),
    readInto: (start, into) => memory.readInto(start, into),
    async stream(start, end) {
      let at = start;
      const stop = Math.min(end, bytes.length);
      return new ReadableStream({
        type: "bytes",
        pull(controller) {
          const view = controller.byobRequest!.view as Uint8Array;
          readBuffers.push(view.buffer.byteLength);
          const n = Math.min(view.length, stop - at);
          view.set(bytes.subarray(at, at + n));
          at += n;
          controller.byobRequest!.respond(n);
          if (at >= stop) controller.close();
        },
      });
    },
  };
}

/** A pack of one blob of `size` bytes that do not compress, and the blob. */
function incompressibleBlobPack(size: number): { pack: Uint8Array; blob: Uint8Array } {
  const blob = new Uint8Array(size);
  let x = 2463534242;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    blob[i] = x & 255;
  }
  const body = concatBytes([packHeader(1), encodeEntryHeader(typeNumber("blob"), size), deflate(blob)]);
  return { pack: concatBytes([body, new Uint8Array(sha1().update(body).digest())]), blob };
}

describe("pack indexer memory", () => {
  it("reads a blob larger than its read buffer in pieces, without growing the buffer", { timeout: 60_000 }, async () => {
    // 9 MiB that do not compress: the entry alone is larger than the 8 MiB read buffer, which
    // grew to hold it whole (to 9 MiB here, 16 MiB on the benchmark packs, which hold blobs of
    // 8 MiB), the old buffers left as garbage, the grown one handed on to the second pass.
    const { pack, blob } = incompressibleBlobPack(9 * 1024 * 1024);
    expect(pack.length).toBeGreaterThan(9 * 1024 * 1024);
    const chunks: Uint8Array[] = [];
    const result = await indexPackTo(byteStreamSource("large-blob", pack), {
      writeIndex: async (chunk) => void chunks.push(chunk.slice()),
    });
    expect(new PackIndex(concatBytes(chunks)).find(hashObject("blob", blob))).toBe(0);
    expect(result.readBufferBytes).toBe(8 * 1024 * 1024);
  });

  it("refuses a large entry cut short or corrupt, read in pieces, naming it", { timeout: 60_000 }, async () => {
    // 300 KiB: over the size inflated whole, so read in pieces; the trailer is made anew so that
    // the entry itself is what is wrong.
    const { pack } = incompressibleBlobPack(300 * 1024);
    const withTrailer = (body: Uint8Array) => concatBytes([body, new Uint8Array(sha1().update(body).digest())]);
    const body = pack.subarray(0, pack.length - 20);
    const cut = withTrailer(body.subarray(0, body.length - 1000));
    await expect(indexPack(byteStreamSource("cut", cut))).rejects.toThrow(/object 0 at offset 12 is cut short/);
    const corrupt = body.slice();
    // The zlib header's check bits no longer hold.
    corrupt[12 + 4] = corrupt[12 + 4]! ^ 0xff;
    await expect(indexPack(byteStreamSource("corrupt", withTrailer(corrupt)))).rejects.toThrow(/object 0 at offset 12: /);
  });

  it("reads the pack into its buffer through small landing buffers, never handing the stream the whole buffer", {
    timeout: 60_000,
  }, async () => {
    // A BYOB read transfers the buffer it fills, and V8 counts the whole buffer again under the
    // ArrayBuffer that comes back until it collects: 8 MiB a read, read after read.
    const { pack } = incompressibleBlobPack(3 * 1024 * 1024);
    const source = byteStreamSource("landing", pack);
    await indexPack(source);
    expect(source.readBuffers.length).toBeGreaterThanOrEqual(Math.floor(pack.length / LANDING));
    expect(Math.max(...source.readBuffers)).toBeLessThanOrEqual(LANDING);
    // readStreamInto (R2 reads into the second pass's windows) leaves the caller's buffer in place.
    const into = new Uint8Array(1024 * 1024);
    const stream = await source.stream!(0, pack.length);
    const read = await readStreamInto(stream, into);
    expect(read.buffer).toBe(into.buffer);
    expect(into.buffer.byteLength).toBe(1024 * 1024);
    // Compared by hash: a failing toEqual of a megabyte prints a diff larger than the heap.
    expect(read.length).toBe(1024 * 1024);
    expect(bytesToHex(sha1().update(read).digest())).toBe(
      bytesToHex(
        sha1()
          .update(pack.subarray(0, 1024 * 1024))
          .digest(),
      ),
    );
  });

  // Its own time limit: seconds of CPU on a busy machine, and no figure here depends on time.
  it("indexes 400,000 objects (half of them deltas) within the 128 MB isolate heap", { timeout: 120_000 }, async () => {
    const pack = pairsPack(200_000);
    const result = await indexPack(new MemorySource("many-objects", pack));
    expect(result.count).toBe(400_000);
    const index = new PackIndex(result.index);
    expect(index.count).toBe(400_000);
    // The first delta: "blob 0\n+\n".
    const delta = new TextEncoder().encode("blob 0\n+\n");
    expect(index.find(hashObject("blob", delta))).toBeGreaterThanOrEqual(0);
  });

  it("holds at most 22 bytes an object and 4 a delta plus fixed budgets with a spill store, and streams the .idx", {
    timeout: 120_000,
  }, async () => {
    const pack = pairsPack(100_000);
    const spill = new MemorySpillStore();
    const chunks: Uint8Array[] = [];
    const budget = 256 * 1024;
    const result = await indexPackTo(new MemorySource("spilled", pack), {
      spill,
      recordBudget: budget,
      writeIndex: async (chunk) => void chunks.push(chunk.slice()),
    });
    expect(result.count).toBe(200_000);
    // 200,000 records of 24 bytes in runs of 4,369 (60 bytes a record with its two buffers and sort scratch).
    expect(result.spilledRuns).toBe(Math.floor(200_000 / Math.floor(budget / 60)));
    // Runs merged into longer ones (more than one merge reads at once) are written again.
    expect(spill.puts).toBeGreaterThanOrEqual(result.spilledRuns);
    expect(spill.parts.size).toBe(0);
    // Columns: offsets, types, CRCs, kept-entry positions (14), OFS bases, then the start of each
    // entry's children (4 + 4 while both exist) and the children (4 a delta); fixed: the 8 MiB
    // arena of kept entries, the record budget (merge windows now within it; the bound is the
    // older one, of 48 KiB windows a run beside it, which still holds).
    const fixed = 8 * 1024 * 1024 + budget + result.spilledRuns * 48 * 1024 + 64 * 1024;
    expect(result.peakHeldBytes).toBeLessThanOrEqual(200_000 * 22 + 100_000 * 4 + fixed);
    // The .idx came in chunks, none of them whole, and is the one the in-memory indexer writes.
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(256 * 1024);
    const streamed = concatBytes(chunks);
    expect(streamed.length).toBe(result.indexSize);
    // Compared by hash: a failing toEqual of megabytes would print a diff larger than the heap.
    const whole = (await indexPack(new MemorySource("whole", pack))).index;
    expect(whole.length).toBe(streamed.length);
    expect(bytesToHex(sha1().update(streamed).digest())).toBe(bytesToHex(sha1().update(whole).digest()));
  });

  it("resolves deltas into reused buffers, not a new array buffer each", async () => {
    const buffers = new Set<ArrayBufferLike>();
    let resolved = 0;
    const result = await indexPack(new MemorySource("reused", pairsPack(1000)), {
      onObject: (_type, data) => {
        // The deltas' results end with the line each delta appends.
        if (data[data.length - 2] !== 0x2b) return;
        resolved++;
        buffers.add(data.buffer);
      },
    });
    expect(result.count).toBe(2000);
    expect(resolved).toBe(1000);
    expect(buffers.size).toBe(1);
  });

  it("deletes its spilled runs when the pack is refused after they were written", async () => {
    // The same blob twice: found only when the runs are merged into the .idx.
    const w = new Writer(new Uint8Array(12 + 2000 * 40 + 20));
    const enc = new TextEncoder();
    w.putBytes(packHeader(2001));
    for (let i = 0; i < 2001; i++) {
      const data = enc.encode(`blob ${i === 2000 ? 0 : i}\n`);
      w.putBytes(encodeEntryHeader(typeNumber("blob"), data.length));
      w.stored(data);
    }
    const end = w.at;
    w.putBytes(new Uint8Array(sha1().update(w.bytes.subarray(0, end)).digest()));
    const spill = new MemorySpillStore();
    await expect(
      indexPackTo(new MemorySource("twice", w.bytes.subarray(0, w.at)), {
        spill,
        recordBudget: 16 * 1024,
        writeIndex: async () => {},
      }),
    ).rejects.toThrow(/same object twice/);
    expect(spill.puts).toBeGreaterThan(1);
    expect(spill.parts.size).toBe(0);
  });

  it("hashes objects one after another into one buffer, with the ids createHash gives", () => {
    const hasher = new ObjectHasher();
    const data = new Uint8Array(70_000).map((_, i) => (i * 131) & 255);
    const types: ObjectType[] = ["blob", "tree", "commit", "tag"];
    // Sizes around SHA-1's 64-byte blocks and its 56-byte padding limit, with the header before them.
    const sizes = [0, 1, 9, 10, 45, 46, 47, 55, 56, 63, 64, 65, 119, 120, 128, 999, 1000, 65_536, 70_000];
    for (const [k, size] of sizes.entries()) {
      const type = types[k % types.length]!;
      const content = data.subarray(0, size);
      const id = hasher.hash(type, content);
      expect(id).toBe(hasher.id);
      expect(bytesToHex(id)).toBe(hashObject(type, content));
      // In pieces, as large blobs are hashed.
      hasher.start(type, size);
      for (let at = 0; at < size; at += 1000) hasher.update(content.subarray(at, Math.min(size, at + 1000)));
      expect(bytesToHex(hasher.finish())).toBe(hashObject(type, content));
    }
  });

  it("makes no header buffer per object it hashes, and writes the .idx through one chunk buffer", async () => {
    // workerd's createHash made a stream object, a header and a digest buffer and a hex string per
    // object: an encoder call per object stands for those (each returns a new array buffer).
    const pack = pairsPack(6000);
    const encode = vi.spyOn(TextEncoder.prototype, "encode");
    const chunkBuffers = new Set<ArrayBufferLike>();
    try {
      const result = await indexPackTo(new MemorySource("no-garbage", pack), {
        writeIndex: async (chunk) => void chunkBuffers.add(chunk.buffer),
      });
      expect(result.count).toBe(12_000);
      expect(encode).not.toHaveBeenCalled();
    } finally {
      encode.mockRestore();
    }
    // 12,000 records of 28 bytes: more than one 256 KiB chunk holds, so the buffer was reused.
    expect(chunkBuffers.size).toBe(1);
  });

  it("holds 10 bytes an entry in its columns, and positions in the arena for the first entries only", () => {
    // A git/git-sized pack: a kept-entry position per entry was 3.6 MB more, for an arena that
    // holds some tens of thousands of entries.
    const held = new HeldBytes();
    const count = 900_000;
    const e = new Entries(count, 600 * 1024 * 1024, held);
    expect(held.now).toBeLessThanOrEqual(count * 10 + 4 + 1024 * 1024);
    const data = new Uint8Array([1, 2, 3]);
    e.keep(10, data);
    e.keep(count - 1, data);
    expect(e.kepts(10)).toEqual(data);
    expect(e.kepts(count - 1)).toBeNull();
  });
});
