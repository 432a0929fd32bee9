// Long CPU work in slices: the pacer yields after its budget of steps or bytes, and the work that
// held the local workerd thread longest during an import (the .idx sort and write, the
// connectivity check, indexing large objects) now lets other tasks run in between.
import { describe, expect, it } from "vitest";
import { Pacer, runAtOnce, runPaced, type Sliced } from "../utils/pace";
import { checkConnectivity, indexIds, isClosure, linkRuns } from "./connectivity";
import { ObjectStore, Pack } from "./object-store";
import { hashObject, sha1, type ObjectType } from "./oid";
import { encodeEntryHeader, packHeader, typeNumber } from "./pack-format";
import { PackIndex, writePackIndexColumns, writePackIndexPaced } from "./pack-index";
import { indexPack } from "./pack-indexer";
import { writePack } from "./pack-writer";
import { MemorySource } from "./range-source";
import { MemorySpillStore } from "./spill-memory";
import { deflate } from "./zlib";
import { concatBytes } from "../utils/bytes";
import { turnsDuring } from "../../test/worker/turns";

/** Deterministic pseudo-random bytes (xorshift): incompressible, the same on every run. */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe("pacer", () => {
  it("yields once its steps or its bytes are spent, and only then", async () => {
    let pauses = 0;
    const pacer = new Pacer(3, 100, async () => {
      pauses++;
    });
    expect(pacer.tick()).toBeUndefined();
    expect(pacer.tick()).toBeUndefined();
    await pacer.tick(); // the third step
    expect(pauses).toBe(1);
    expect(pacer.tick(60)).toBeUndefined();
    await pacer.tick(60); // 120 bytes in two steps
    expect(pauses).toBe(2);
    await pacer.tick(0, 5); // five steps at once
    expect([pauses, pacer.yields]).toEqual([3, 3]);
  });

  it("runs sliced work at once or paced, to the same result", async () => {
    function* work(): Sliced<number> {
      let sum = 0;
      for (let i = 1; i <= 10; i++) {
        sum += i;
        yield { steps: 1 };
      }
      return sum;
    }
    expect(runAtOnce(work())).toBe(55);
    let pauses = 0;
    const pacer = new Pacer(4, Number.POSITIVE_INFINITY, async () => {
      pauses++;
    });
    expect(await runPaced(work(), pacer)).toBe(55);
    expect(pauses).toBe(2);
  });
});

describe("work that yields", () => {
  it("writes a pack's .idx in slices, byte for byte the same as at once", async () => {
    const n = 60_000;
    const oids = noise(n * 20, 7);
    const offsets = new Float64Array(n).map((_, i) => 12 + i * 100);
    const crcs = new Uint32Array(n).map((_, i) => i);
    const checksum = noise(20, 3);
    const pacer = new Pacer(4096);
    const { result, turns } = await turnsDuring(() => writePackIndexPaced(oids, offsets, crcs, checksum, pacer));
    const hex = (b: Uint8Array) => Buffer.from(sha1().update(b).digest()).toString("hex");
    expect(hex(result)).toBe(hex(writePackIndexColumns(oids, offsets, crcs, checksum)));
    expect(pacer.yields).toBeGreaterThan(20);
    expect(turns).toBeGreaterThan(20);
    const index = new PackIndex(result);
    expect(index.find(oids.subarray(20 * 123, 20 * 124))).toBeGreaterThanOrEqual(0);
  });

  it("checks the connectivity of many links, and whether the pack is their closure, in slices", async () => {
    const n = 40_000;
    const oids = noise(n * 20, 5);
    const index = new PackIndex(
      writePackIndexColumns(
        oids,
        new Float64Array(n).map((_, i) => 12 + i),
        new Uint32Array(n),
        noise(20, 9),
      ),
    );
    const links = linkRuns(new MemorySpillStore());
    for (let i = 0; i < n; i++) links.add(oids, i * 20);
    // Every link is in the pack: nothing is asked elsewhere, so only the pacing awaits.
    const { result, turns } = await turnsDuring(() => checkConnectivity(links, indexIds(index), []));
    expect(result.missing).toBeNull();
    expect(isClosure(result, [])).toBe(true);
    expect(turns).toBeGreaterThanOrEqual(4);
  });

  it("writes a pack for a clone in slices", async () => {
    const enc = new TextEncoder();
    const blobs = Array.from({ length: 2000 }, (_, i) => enc.encode(`blob number ${i}\n`));
    const parts: Uint8Array[] = [packHeader(blobs.length)];
    for (const b of blobs) parts.push(encodeEntryHeader(typeNumber("blob"), b.length), deflate(b));
    const body = concatBytes(parts);
    const source = new MemorySource("blobs", concatBytes([body, new Uint8Array(sha1().update(body).digest())]));
    const index = new PackIndex((await indexPack(source)).index);
    const store = new ObjectStore([new Pack("pack-blobs", index, source)]);
    const objects = new Map<string, ObjectType>(blobs.map((b) => [hashObject("blob", b), "blob"]));
    // Every read is from memory and the sink never waits: only the pacing lets others in.
    const { result, turns } = await turnsDuring(() =>
      writePack(store, objects, { ofsDelta: true, thin: false, clientHas: new Set() }, async () => undefined),
    );
    expect(result.objects).toBe(2000);
    expect(turns).toBeGreaterThanOrEqual(4);
  });

  it("yields at least every MiB while it indexes large objects", async () => {
    // 24 blobs of 256 KiB of noise: 12 MiB inflated and as much hashed, in few objects.
    const blobs = Array.from({ length: 24 }, (_, i) => noise(256 * 1024, i + 1));
    const parts: Uint8Array[] = [packHeader(blobs.length)];
    for (const b of blobs) parts.push(encodeEntryHeader(typeNumber("blob"), b.length), deflate(b));
    const body = concatBytes(parts);
    const pack = concatBytes([body, new Uint8Array(sha1().update(body).digest())]);
    const { result, turns } = await turnsDuring(() => indexPack(new MemorySource("large-blobs", pack)));
    expect(result.count).toBe(24);
    // Each blob counts 512 KiB (256 KiB read, 256 KiB inflated): a turn every 1 MiB is 12 in all;
    // the former budget of 4 MiB gave 3.
    expect(turns).toBeGreaterThanOrEqual(10);
  });

  it("yields at least every MiB while it inflates and hashes one blob of megabytes in pieces", async () => {
    // One blob of 6 MiB of noise (inflated in pieces: over PIECES_OVER): 12 MiB read and inflated,
    // a turn every MiB of it (8 counted here). The cursor's whole buffer (4 MiB) was one feed and
    // the blob one slice.
    const blob = noise(6 * 1024 * 1024, 7);
    const body = concatBytes([packHeader(1), encodeEntryHeader(typeNumber("blob"), blob.length), deflate(blob)]);
    const pack = concatBytes([body, new Uint8Array(sha1().update(body).digest())]);
    const { result, turns } = await turnsDuring(() => indexPack(new MemorySource("one-large-blob", pack)));
    expect(new PackIndex(result.index).find(hashObject("blob", blob))).toBeGreaterThanOrEqual(0);
    expect(turns).toBeGreaterThanOrEqual(6);
  });
});
