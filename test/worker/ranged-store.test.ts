// The object store on ranged pack indexes, as the edge opens a large repository's packs: a pack
// and index made by git (test/fixtures/ranged-pack, made by its make.sh), stored in R2, looked up
// by ranges and checked against `git show-index` and `git cat-file` of the same pack: every
// object, the first and last id of each fan-out bucket, ids around them and in empty buckets.
// Then fetches and pages of the same repository served with every index read by ranges.
import { env as workerEnv } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writePack } from "../../src/git/pack-writer";
import { ObjectStore, Pack, type Location } from "../../src/git/object-store";
import { bytesToHex, hashObject, hexToBytes, type ObjectType, type Oid } from "../../src/git/oid";
import { PackIndex } from "../../src/git/pack-index";
import { RangedPackIndex } from "../../src/git/pack-index-ranged";
import { indexPack } from "../../src/git/pack-indexer";
import { FLUSH, parsePktLines, pkt } from "../../src/git/pkt-line";
import { MemorySource } from "../../src/git/range-source";
import { r2Keys } from "../../src/storage/keys";
import { openStore, setWholeIndexMax } from "../../src/storage/pack-store";
import { concatBytes } from "../../src/utils/bytes";
import { newForge, type Forge } from "./browser";
import { ADMIN_HOST, ADMIN_TOKEN, admin, edge } from "./helpers";
import packB64 from "../fixtures/ranged-pack/pack.b64?raw";
import idxB64 from "../fixtures/ranged-pack/idx.b64?raw";
import showIndex from "../fixtures/ranged-pack/show-index.txt?raw";
import catFile from "../fixtures/ranged-pack/cat-file.txt?raw";
import headTxt from "../fixtures/ranged-pack/head.txt?raw";

const env = workerEnv as unknown as { OBJECTS: R2Bucket };
const fromBase64 = (b64: string) => Uint8Array.from(atob(b64.trim()), (c) => c.charCodeAt(0));
const packBytes = fromBase64(packB64);
const idxBytes = fromBase64(idxB64);
const head = headTxt.trim();

/** git show-index: "<offset> <oid> (<crc>)" per object, in id order. */
const listed = showIndex
  .trim()
  .split("\n")
  .map((line) => {
    const [offset, oid] = line.split(" ");
    return { oid: oid!, offset: Number(offset) };
  });
/** git cat-file --batch-check: type and size of every object. */
const described = new Map(
  catFile
    .trim()
    .split("\n")
    .map((line) => {
      const [oid, type, size] = line.split(" ");
      return [oid!, { type: type as ObjectType, size: Number(size) }] as const;
    }),
);

/** The id `oid` plus `delta` (as a 160-bit number), or null past either end. */
function shifted(oid: Oid, delta: 1 | -1): Oid | null {
  const b = hexToBytes(oid);
  for (let i = 19; i >= 0; i--) {
    const v = b[i]! + delta;
    b[i] = v & 0xff;
    if (v >= 0 && v <= 0xff) return bytesToHex(b);
  }
  return null;
}

const repo = { tenantId: `ranged-${Date.now().toString(36)}`, repoId: "fixture" };
const packName = "pack-fixture";
let previousMax = 0;

beforeAll(async () => {
  await env.OBJECTS.put(r2Keys.pack(repo.tenantId, repo.repoId, packName), packBytes);
  await env.OBJECTS.put(r2Keys.packIndex(repo.tenantId, repo.repoId, packName), idxBytes);
  previousMax = setWholeIndexMax(0);
});
afterAll(() => {
  setWholeIndexMax(previousMax);
});

const openRanged = () =>
  openStore(env.OBJECTS, repo, { packs: [{ name: packName, bytes: packBytes.length, objects: listed.length }] });

describe("object store on a ranged index of git's pack", () => {
  it("opens the index by ranges and finds every object where git show-index says, as git cat-file describes it", async () => {
    const store = await openRanged();
    expect(store.packs[0]!.index).toBeInstanceOf(RangedPackIndex);
    expect(listed.length).toBe(described.size);
    const found = await store.locateMany(listed.map((e) => e.oid));
    for (const [i, e] of listed.entries()) {
      expect(found[i]?.offset, e.oid).toBe(e.offset);
      expect((await store.locate(e.oid))?.offset).toBe(e.offset);
      const obj = await store.read(e.oid);
      expect({ type: obj.type, size: obj.data.length }).toEqual(described.get(e.oid));
      expect(hashObject(obj.type, obj.data)).toBe(e.oid);
      expect(await store.info(e.oid)).toEqual(described.get(e.oid));
    }
  });

  it("answers the first and last id of every fan-out bucket, the ids around them and empty buckets", async () => {
    const store = await openRanged();
    const whole = new ObjectStore([]);
    const buckets = new Map<number, Oid[]>();
    for (const e of listed) {
      const b = Number.parseInt(e.oid.slice(0, 2), 16);
      if (!buckets.has(b)) buckets.set(b, []);
      buckets.get(b)!.push(e.oid);
    }
    const present = new Set(listed.map((e) => e.oid));
    const offsetOf = new Map(listed.map((e) => [e.oid, e.offset]));
    let empty = 0;
    let crowded = 0;
    for (let b = 0; b < 256; b++) {
      const ids = buckets.get(b);
      const byte = b.toString(16).padStart(2, "0");
      if (!ids) {
        empty++;
        for (const oid of [`${byte}${"00".repeat(19)}`, `${byte}${"ff".repeat(19)}`, `${byte}${"7f".repeat(19)}`]) {
          expect(await store.locate(oid), oid).toBeNull();
        }
        continue;
      }
      if (ids.length > 1) crowded++;
      for (const oid of [ids[0]!, ids[ids.length - 1]!]) {
        expect((await store.locate(oid))?.offset, oid).toBe(offsetOf.get(oid));
        for (const near of [shifted(oid, -1), shifted(oid, 1)]) {
          if (near && !present.has(near)) expect(await store.locate(near), near).toBeNull();
        }
      }
    }
    // The fixture has both kinds, or the edges above were not all tried.
    expect(empty).toBeGreaterThan(10);
    expect(crowded).toBeGreaterThan(10);
    expect(await store.locate("00".repeat(20))).toBeNull();
    expect(await store.locate("ff".repeat(20))).toBeNull();
    expect(await whole.locate(listed[0]!.oid)).toBeNull();
    // In one batch, present and absent together, answers in the order asked.
    const mixed = listed.flatMap((e) => [e.oid, shifted(e.oid, 1)!]).filter((o, i) => i % 2 === 0 || !present.has(o));
    const batch = await store.locateMany(mixed);
    expect(batch.map((l) => l?.offset ?? null)).toEqual(mixed.map((o) => offsetOf.get(o) ?? null));
    expect(await store.filterPresent(mixed)).toEqual(mixed.filter((o) => present.has(o)));
  });

  it("writes the same packs from a ranged index as from the whole one: full, partial, and thin", async () => {
    const ranged = await openRanged();
    const wholeStore = new ObjectStore(ranged.packs.map((p) => new Pack(p.name, new PackIndex(idxBytes), p.source)));
    const all = new Map([...described].map(([oid, d]) => [oid, d.type]));
    const half = new Map([...all].filter(([oid]) => oid < "80"));
    const rest = new Set([...all.keys()].filter((oid) => oid >= "80"));
    for (const [objects, thin] of [
      [all, false],
      [half, false],
      [half, true],
    ] as const) {
      const out: Record<string, unknown> = {};
      for (const [name, store] of [
        ["ranged", ranged],
        ["whole", wholeStore],
      ] as const) {
        const chunks: Uint8Array[] = [];
        const stats = await writePack(store, objects, { ofsDelta: true, thin, clientHas: thin ? rest : new Set() }, async (c) => {
          chunks.push(c);
        });
        const pack = concatBytes(chunks);
        const indexed = await indexPack(new MemorySource(`written-${name}`, pack), {
          external: async (oid) => (rest.has(oid) ? ranged.read(oid) : null),
        });
        expect(
          new PackIndex(indexed.index)
            .entries()
            .map((e) => e.oid)
            .sort(),
        ).toEqual([...objects.keys()].sort());
        expect(indexed.missingBases.every((oid) => rest.has(oid))).toBe(true);
        out[name] = { reused: stats.reused, reusedDeltas: stats.reusedDeltas, rebuilt: stats.rebuilt, bytes: stats.bytes };
      }
      expect(out.ranged).toEqual(out.whole);
    }
  });
});

describe("a repository served with every index read by ranges", () => {
  let forge: Forge;
  beforeAll(async () => {
    forge = await newForge("ranged");
    let res = await admin("POST", `/api/v1/tenants/${forge.slug}/projects`, { name: "fixture", private: false });
    expect(res.status).toBe(201);
    const base = `/api/v1/tenants/${forge.slug}/projects/fixture/imports`;
    const checksum = bytesToHex(packBytes.subarray(packBytes.length - 20));
    res = await admin("POST", base, {
      size: packBytes.length,
      checksum,
      refs: [{ name: "refs/heads/main", oid: head }],
      head: "refs/heads/main",
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    res = await edge(`http://${ADMIN_HOST}${base}/${id}/parts/1`, {
      method: "PUT",
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        "content-type": "application/octet-stream",
        "content-length": String(packBytes.length),
      },
      body: packBytes,
    });
    expect(res.status).toBe(200);
    expect((await admin("POST", `${base}/${id}/complete`)).status).toBe(200);
  }, 60_000);

  const fetchPack = async (wants: Oid[], haves: Oid[]) => {
    const body = concatBytes([
      pkt("command=fetch\n"),
      new TextEncoder().encode("0001"),
      pkt("ofs-delta\n"),
      pkt("thin-pack\n"),
      pkt("no-progress\n"),
      ...wants.map((w) => pkt(`want ${w}\n`)),
      ...haves.map((h) => pkt(`have ${h}\n`)),
      pkt("done\n"),
      FLUSH,
    ]);
    const res = await edge(`http://${forge.host}/fixture.git/git-upload-pack`, {
      method: "POST",
      headers: { "content-type": "application/x-git-upload-pack-request", "git-protocol": "version=2" },
      body,
    });
    expect(res.status).toBe(200);
    const chunks: Uint8Array[] = [];
    for (const line of parsePktLines(new Uint8Array(await res.arrayBuffer()))) {
      if (line.kind === "data" && line.data[0] === 1) chunks.push(line.data.subarray(1));
    }
    return concatBytes(chunks);
  };

  it("clones and fetches: every object git lists, thin packs against what the client has", async () => {
    const store = await openRanged();
    const clone = await indexPack(new MemorySource("ranged-clone", await fetchPack([head], [])));
    expect(
      new PackIndex(clone.index)
        .entries()
        .map((e) => e.oid)
        .sort(),
    ).toEqual([...described.keys()].sort());
    // The parent of HEAD as a have: only what the last commit added, maybe thin.
    const parent = /^parent ([0-9a-f]{40})$/m.exec(new TextDecoder().decode((await store.read(head)).data))![1]!;
    const fetched = await indexPack(new MemorySource("ranged-fetch", await fetchPack([head], [parent])), {
      external: async (oid) => (described.has(oid) ? store.read(oid) : null),
    });
    const got = new PackIndex(fetched.index).entries().map((e) => e.oid);
    expect(got).toContain(head);
    expect(got.length).toBeLessThan(described.size / 10);
  });

  it("shows tree and blob pages and raw files", async () => {
    const tree = await edge(`http://${forge.host}/p/fixture/source/tree/main/dir0`);
    expect(tree.status).toBe(200);
    expect(await tree.text()).toContain("notes0.txt");
    const raw = await edge(`http://${forge.host}/p/fixture/source/raw/main/dir0/notes0.txt`);
    expect(raw.status).toBe(200);
    const text = await raw.text();
    expect(text).toContain("line of notes, edited in commit");
    const store = await openRanged();
    const loc = (await store.locate(hashObject("blob", new TextEncoder().encode(text)))) as Location | null;
    expect(loc).not.toBeNull();
  });
});
