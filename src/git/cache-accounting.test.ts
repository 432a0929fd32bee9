// Memory the push and edge isolates hold between requests is what their caches count: a cached
// view of a larger buffer counts (or copies) the whole buffer, and indexing a pack of many small
// objects makes no native zlib object per entry (workerd frees their wrappers only in a
// last-resort collection, so they filled the push isolate's heap to its cap).
import zlib from "node:zlib";
import { afterEach, describe, expect, it, vi } from "vitest";
import { hashObject, sha1 } from "./oid";
import { encodeEntryHeader, packHeader, typeNumber } from "./pack-format";
import { PackIndex } from "./pack-index";
import { indexPack } from "./pack-indexer";
import { MemorySource, WindowedSource, windowCacheBytes } from "./range-source";
import { deflate } from "./zlib";
import { concatBytes } from "../utils/bytes";
import { ByteLru, heldBytes, ownBytes } from "../utils/lru";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("cache accounting", () => {
  it("keeps a window of its own, not the larger buffer a source answered with", async () => {
    const whole = new Uint8Array(1024 * 1024).map((_, i) => i & 255);
    const source = new WindowedSource(new MemorySource("accounting-window", whole));
    const before = windowCacheBytes();
    const got = await source.read(100, 200);
    expect([...got]).toEqual([...whole.subarray(100, 200)]);
    // The cached window is 64 KiB of its own: the 1 MiB buffer is not kept alive by the cache.
    expect(got.buffer.byteLength).toBe(64 * 1024);
    expect(windowCacheBytes() - before).toBe(64 * 1024);
  });

  it("counts what a cached view keeps alive: its whole buffer", () => {
    const read = new Uint8Array(256 * 1024);
    const page = read.subarray(0, 4096);
    const cache = new ByteLru<string, Uint8Array>(1024 * 1024, heldBytes);
    cache.set("view", page);
    expect(cache.bytes).toBe(256 * 1024);
    cache.set("own", ownBytes(page));
    expect(cache.bytes).toBe(256 * 1024 + 4096);
  });
});

describe("indexing small objects", () => {
  it("inflates them without a native zlib call per entry", async () => {
    const enc = new TextEncoder();
    const blobs = Array.from({ length: 200 }, (_, i) => enc.encode(`blob number ${i}\n`.repeat(1 + (i % 7))));
    const body = concatBytes([
      packHeader(blobs.length),
      ...blobs.flatMap((b) => [encodeEntryHeader(typeNumber("blob"), b.length), deflate(b)]),
    ]);
    const pack = concatBytes([body, new Uint8Array(sha1().update(body).digest())]);
    const native = vi.spyOn(zlib, "inflateSync");
    const result = await indexPack(new MemorySource("accounting-pack", pack));
    expect(native).not.toHaveBeenCalled();
    const index = new PackIndex(result.index);
    for (const b of blobs) expect(index.find(hashObject("blob", b))).toBeGreaterThanOrEqual(0);
  });
});
