// What a compaction holds while it copies a repository into one pack (issue 19): the stored packs
// are read through one bounded buffer of the writer's own, not the isolate's shared window cache
// (whose 64 KiB windows became hundreds of MiB of dead array buffers on 320,000 objects); entry
// ends come from the offset table, not from an inflated copy of every object; the new .idx goes to
// R2 as a stream, never whole in memory. Counted in bytes and calls, on packs read by ranges.
import { env as workerEnv } from "cloudflare:workers";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import { CommitGraph } from "../../src/git/commit-graph";
import { Pack } from "../../src/git/object-store";
import type { Oid } from "../../src/git/oid";
import { COPY_BUFFER, COPY_WINDOW } from "../../src/git/pack-copy";
import { writePackIndexColumns } from "../../src/git/pack-index";
import { indexPack } from "../../src/git/pack-indexer";
import { writePack } from "../../src/git/pack-writer";
import { MemorySource, windowCacheBytes } from "../../src/git/range-source";
import { enumerateObjects } from "../../src/git/walk";
import { compactPacks } from "../../src/repo/compaction";
import type { RepoSnapshot } from "../../src/repo/snapshot";
import { r2Keys } from "../../src/storage/keys";
import { R2StreamWriter } from "../../src/storage/r2-writer";
import { openStore, setWholeIndexMax } from "../../src/storage/pack-store";
import { RepoBuilder, type FileMap } from "./git-fixture";

const env = workerEnv as unknown as Env;
const repo = { tenantId: `compact-mem-${Date.now().toString(36)}`, repoId: "r" };

/** Bytes that deflate does not shrink (a deterministic sequence), so the entry spans windows. */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/**
 * Two packs, as pushes leave them: the first 15 commits' objects, then the rest with some files
 * stored as REF_DELTAs against their previous versions in the same pack, and two files larger
 * than the copy window.
 */
function history(): { builder: RepoBuilder; tip: Oid; packs: Uint8Array[] } {
  const builder = new RepoBuilder();
  const files: FileMap = {};
  for (let i = 0; i < 300; i++) files[`d${i % 12}/f${i}.txt`] = `file ${i}\n${"line of text\n".repeat(i % 40)}`;
  files["big/noise-a.bin"] = noise(COPY_WINDOW * 2 + 1000, 7);
  let tip = builder.commit({ files, message: "start" });
  let firstPack = 0;
  const deltas: Record<Oid, Oid> = {};
  for (let c = 1; c < 30; c++) {
    if (c === 15) firstPack = builder.objects.size;
    for (let k = 0; k < 4; k++) {
      const file = c > 15 ? k * 7 : (c * 11 + k) % 300;
      const path = `d${file % 12}/f${file}.txt`;
      const before = builder.blob(files[path] as string);
      files[path] = `${files[path] as string}changed at ${c}.${k}\n`;
      if (c > 15) deltas[builder.blob(files[path] as string)] = before;
    }
    if (c === 20) files["big/noise-b.bin"] = noise(COPY_WINDOW * 3 + 77, 11);
    tip = builder.commit({ files, parents: [tip], message: `change ${c}` });
  }
  const all = [...builder.objects.keys()];
  const first = all.slice(0, firstPack);
  const rest = all.slice(firstPack);
  // Deltas only where base and target are both in the second pack.
  const inRest = new Set(rest);
  const second = Object.fromEntries(Object.entries(deltas).filter(([t, b]) => inRest.has(t) && inRest.has(b)));
  return { builder, tip, packs: [builder.pack(first).pack, builder.pack(rest, { deltas: second }).pack] };
}

let snapshot: RepoSnapshot;
let objects = 0;
let previousMax = 0;

beforeAll(async () => {
  const { builder, tip, packs } = history();
  objects = builder.objects.size;
  const entries = [];
  for (const [k, pack] of packs.entries()) {
    const name = `pack-part${k}`;
    const { index, count } = await indexPack(new MemorySource(name, pack));
    await env.OBJECTS.put(r2Keys.pack(repo.tenantId, repo.repoId, name), pack);
    await env.OBJECTS.put(r2Keys.packIndex(repo.tenantId, repo.repoId, name), index);
    entries.push({ name, objects: count, bytes: pack.length, createdAt: 0 });
  }
  snapshot = { version: 1, head: "refs/heads/main", refs: [{ name: "refs/heads/main", oid: tip }], packs: entries };
  // Every index read by ranges, as a large repository's are.
  previousMax = setWholeIndexMax(0);
});
afterAll(() => {
  setWholeIndexMax(previousMax);
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe("a compaction's memory", () => {
  it("copies stored entries through its own bounded buffer: no shared window, no inflated copy", async () => {
    const store = await openStore(env.OBJECTS, repo, snapshot);
    const walk = await enumerateObjects(new CommitGraph(store), {
      wants: [snapshot.refs[0]!.oid],
      haves: [],
      shallow: new Set(),
    });
    expect(walk.objects.size).toBe(objects);
    const windowsBefore = windowCacheBytes();
    const inflates = vi.spyOn(Pack.prototype, "inflateEntry");
    const chunks: Uint8Array[] = [];
    const stats = await writePack(
      store,
      walk.objects,
      { ofsDelta: true, thin: false, clientHas: new Set(), index: true },
      async (c) => {
        chunks.push(c.slice());
      },
    );
    // Before: each 64 KiB window of both packs became a cached buffer of its own, and every entry
    // was inflated whole to find where it ends (a ranged index has no pack-order table).
    expect(windowCacheBytes()).toBe(windowsBefore);
    expect(inflates).not.toHaveBeenCalled();
    // The buffer, a spanning entry's bytes (at most a window here) and one pack's offset table.
    const largestPack = Math.max(...snapshot.packs.map((p) => p.objects));
    expect(stats.copyPeakBytes).toBeGreaterThan(0);
    expect(stats.copyPeakBytes).toBeLessThanOrEqual(COPY_BUFFER + COPY_WINDOW + 4 * largestPack);
    // One buffer for both packs, filled again for the second (a new one for each before).
    expect(stats.copyMadeBytes).toBe(COPY_BUFFER);
    // Every window of the packs read about once: the entries are copied in stored order.
    const stored = snapshot.packs.reduce((n, p) => n + p.bytes, 0);
    expect(stats.copyReads).toBeLessThanOrEqual(Math.ceil(stored / COPY_WINDOW) + 2 * snapshot.packs.length);
    expect(stats.reusedDeltas).toBeGreaterThan(0);

    // The pack is whole: git's indexer reads every object of it, and its .idx is the columns'.
    const written = new Uint8Array(await new Blob(chunks).arrayBuffer());
    const indexed = await indexPack(new MemorySource("written", written));
    expect(indexed.count).toBe(objects);
    const { oids, offsets, crcs } = stats.index!;
    expect(writePackIndexColumns(oids, offsets, crcs, stats.checksum)).toEqual(indexed.index);
  });

  it("leaves a small fetch's few objects to the shared cache: no buffer of its own, no offset table", async () => {
    const store = await openStore(env.OBJECTS, repo, snapshot);
    const walk = await enumerateObjects(new CommitGraph(store), {
      wants: [snapshot.refs[0]!.oid],
      haves: [],
      shallow: new Set(),
    });
    const few = new Map([...walk.objects].slice(0, 10));
    const chunks: Uint8Array[] = [];
    const stats = await writePack(store, few, { ofsDelta: true, thin: false, clientHas: new Set() }, async (c) => {
      chunks.push(c.slice());
    });
    expect(stats.copyPeakBytes).toBe(0);
    expect(stats.copyReads).toBe(0);
    const indexed = await indexPack(new MemorySource("few", new Uint8Array(await new Blob(chunks).arrayBuffer())));
    expect(indexed.count).toBe(10);
  });

  it("streams the new .idx to R2 in pieces, never one buffer, and stores what git's indexer makes", async () => {
    const puts: { key: string; buffer: boolean }[] = [];
    const bucket = new Proxy(env.OBJECTS, {
      get(target, prop) {
        if (prop === "put") {
          return (key: string, body: unknown, options?: R2PutOptions) => {
            puts.push({ key, buffer: body instanceof ArrayBuffer || ArrayBuffer.isView(body) });
            return target.put(key, body as ReadableStream, options);
          };
        }
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const entry = await compactPacks({ ...env, OBJECTS: bucket } as Env, repo, snapshot);
    expect(entry.objects).toBe(objects);
    const indexKey = r2Keys.packIndex(repo.tenantId, repo.repoId, entry.name);
    expect(puts.filter((p) => p.key === indexKey)).toEqual([{ key: indexKey, buffer: false }]);

    const pack = new Uint8Array(
      await (await env.OBJECTS.get(r2Keys.pack(repo.tenantId, repo.repoId, entry.name)))!.arrayBuffer(),
    );
    const idx = new Uint8Array(await (await env.OBJECTS.get(indexKey))!.arrayBuffer());
    expect(pack.length).toBe(entry.bytes);
    const indexed = await indexPack(new MemorySource("compacted", pack));
    expect(indexed.count).toBe(objects);
    expect(idx).toEqual(indexed.index);
  });
  it("writes through the walk reader's buffers: the part and the copy buffer are not made anew", async () => {
    // Before, the writer made its part (growing by doubling from 64 KiB) and a copy buffer for
    // every pack while the walk's windows and slab, garbage by then, still counted: big.git's
    // sampled peak (157 MiB) was at that hand-over.
    const made: number[] = [];
    const finish = R2StreamWriter.prototype.finish;
    vi.spyOn(R2StreamWriter.prototype, "finish").mockImplementation(function (this: R2StreamWriter) {
      made.push(this.allocated);
      return finish.call(this);
    });
    const lines: string[] = [];
    const log = console.log;
    vi.spyOn(console, "log").mockImplementation((line: unknown) => {
      if (typeof line === "string" && line.includes("compaction {")) lines.push(line);
      else log(line);
    });
    const entry = await compactPacks(env, repo, snapshot);
    expect(entry.objects).toBe(objects);
    // The pack (two stored packs' objects) and its .idx: neither writer made a part buffer.
    expect(made).toEqual([0]);
    expect(lines).toHaveLength(1);
    const cost = JSON.parse((JSON.parse(lines[0]!) as { message: string }).message.replace(/^compaction /, "")) as {
      madeBytes: number;
      copyReads: number;
    };
    expect(cost.madeBytes).toBe(0);
    expect(cost.copyReads).toBeGreaterThan(0);
    const pack = new Uint8Array(
      await (await env.OBJECTS.get(r2Keys.pack(repo.tenantId, repo.repoId, entry.name)))!.arrayBuffer(),
    );
    expect((await indexPack(new MemorySource("handed-over", pack))).count).toBe(objects);
  });

  it("hands R2 the compacted pack in parts of at most 5 MiB (R2's smallest), not 8 MiB ones", async () => {
    // One pack of about 6 MiB: before, one 8 MiB part buffer held all of it.
    const builder = new RepoBuilder();
    const tip = builder.commit({ files: { "big.bin": noise(6 * 1024 * 1024, 3), "a.txt": "a\n" }, message: "big" });
    const pack = builder.pack().pack;
    const small = { tenantId: repo.tenantId, repoId: "parts" };
    const { index, count } = await indexPack(new MemorySource("parts", pack));
    await env.OBJECTS.put(r2Keys.pack(small.tenantId, small.repoId, "pack-one"), pack);
    await env.OBJECTS.put(r2Keys.packIndex(small.tenantId, small.repoId, "pack-one"), index);
    const snap: RepoSnapshot = {
      version: 1,
      head: "refs/heads/main",
      refs: [{ name: "refs/heads/main", oid: tip }],
      packs: [{ name: "pack-one", objects: count, bytes: pack.length, createdAt: 0 }],
    };
    let largest = 0;
    const sized = (body: unknown) => {
      if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) largest = Math.max(largest, body.byteLength);
    };
    const bucket = new Proxy(env.OBJECTS, {
      get(target, prop) {
        if (prop === "put") {
          return (key: string, body: unknown, options?: R2PutOptions) => {
            sized(body);
            return target.put(key, body as ReadableStream, options);
          };
        }
        if (prop === "createMultipartUpload") {
          return async (key: string, options?: R2MultipartOptions) => {
            const upload = await target.createMultipartUpload(key, options);
            return {
              key: upload.key,
              uploadId: upload.uploadId,
              uploadPart: (n: number, body: Uint8Array) => {
                sized(body);
                return upload.uploadPart(n, body);
              },
              abort: () => upload.abort(),
              complete: (parts: R2UploadedPart[]) => upload.complete(parts),
            };
          };
        }
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const entry = await compactPacks({ ...env, OBJECTS: bucket } as Env, small, snap);
    expect(entry.bytes).toBeGreaterThan(5 * 1024 * 1024);
    expect(largest).toBe(5 * 1024 * 1024);
    const stored = new Uint8Array(
      await (await env.OBJECTS.get(r2Keys.pack(small.tenantId, small.repoId, entry.name)))!.arrayBuffer(),
    );
    expect((await indexPack(new MemorySource("parts-compacted", stored))).count).toBe(count);
  });
});
