// Git interoperability of upload-pack in workerd: the packs a fetch sends put every delta's base
// before the delta (whatever order the stored pack has), any object may be a have, and
// reachability checks stay within their budget.
import { beforeAll, describe, expect, it } from "vitest";
import { Budget } from "../../src/git/budget";
import { CommitGraph } from "../../src/git/commit-graph";
import { isReachable } from "../../src/git/negotiate";
import { ObjectStore, Pack } from "../../src/git/object-store";
import { hashObject, type Oid } from "../../src/git/oid";
import { OBJ_OFS_DELTA, OBJ_REF_DELTA, parseEntryHeader } from "../../src/git/pack-format";
import { PackIndex } from "../../src/git/pack-index";
import { indexPack } from "../../src/git/pack-indexer";
import { FLUSH, parsePktLines, pkt } from "../../src/git/pkt-line";
import { MemorySource } from "../../src/git/range-source";
import { concatBytes } from "../../src/utils/bytes";
import { newForge, type Forge } from "./browser";
import { edge } from "./helpers";
import { RepoBuilder, importRepo, type FileMap } from "./git-fixture";

let forge: Forge;
const repo = new RepoBuilder();
const ids = {} as Record<"c1" | "c2" | "c3" | "tag" | "tree1" | "tree2" | "blob1" | "blob2" | "blob3", Oid>;
const enc = new TextEncoder();

const lines = (n: number, edit = "") =>
  `${Array.from({ length: n }, (_, i) => `line ${i} of a file that changes a little between commits${i === 7 ? edit : ""}`).join("\n")}\n`;

beforeAll(async () => {
  forge = await newForge("interop");
  // Many files, so that root trees are big enough to be stored as deltas of each other.
  const others: FileMap = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`file-${i}.txt`, `file ${i}\n`]));
  const files1: FileMap = { ...others, "big.txt": lines(200) };
  ids.c1 = repo.commit({ files: files1, message: "first" });
  ids.tree1 = repo.files(files1);
  ids.blob1 = repo.blob(lines(200));
  const files2: FileMap = { ...files1, "big.txt": lines(200, " (edited)") };
  ids.c2 = repo.commit({ files: files2, parents: [ids.c1], message: "second" });
  ids.tree2 = repo.files(files2);
  ids.blob2 = repo.blob(lines(200, " (edited)"));
  const files3: FileMap = { ...files2, "big.txt": lines(200, " (edited twice)") };
  ids.c3 = repo.commit({ files: files3, parents: [ids.c2], message: "third" });
  ids.blob3 = repo.blob(lines(200, " (edited twice)"));
  ids.tag = repo.put(
    "tag",
    enc.encode(`object ${ids.c1}\ntype commit\ntag v1\ntagger Ada <ada@example.com> 1700000000 +0000\n\nversion one\n`),
  );
  // The new versions stored as REF_DELTAs whose bases come later in the pack: blob3 -> blob2 ->
  // blob1 is a chain, tree2 -> tree1 one step.
  await importRepo(
    forge.slug,
    "interop",
    repo,
    { "refs/heads/main": ids.c3, "refs/tags/v1": ids.tag },
    {
      deltas: { [ids.blob3]: ids.blob2, [ids.blob2]: ids.blob1, [ids.tree2]: ids.tree1 },
    },
  );
}, 60_000);

interface Answer {
  /** Text lines before and around the pack (acknowledgments, ERR...). */
  text: string[];
  pack: Uint8Array;
  errors: string[];
}

/** POSTs an upload-pack request and splits the answer into text lines and the side-banded pack. */
async function uploadPack(body: Uint8Array, v2: boolean): Promise<Answer> {
  const res = await edge(`http://${forge.host}/interop.git/git-upload-pack`, {
    method: "POST",
    headers: { "content-type": "application/x-git-upload-pack-request", ...(v2 ? { "git-protocol": "version=2" } : {}) },
    body,
  });
  expect(res.status).toBe(200);
  const answer: Answer = { text: [], pack: new Uint8Array(0), errors: [] };
  const chunks: Uint8Array[] = [];
  for (const line of parsePktLines(new Uint8Array(await res.arrayBuffer()))) {
    if (line.kind !== "data") continue;
    const band = line.data[0];
    if (band === 1) chunks.push(line.data.subarray(1));
    else if (band === 3) answer.errors.push(new TextDecoder().decode(line.data.subarray(1)));
    else if (band !== 2) answer.text.push(line.text);
  }
  answer.pack = concatBytes(chunks);
  return answer;
}

const v0Request = (wants: Oid[], haves: Oid[], caps: string) =>
  concatBytes([
    ...wants.map((w, i) => pkt(`want ${w}${i === 0 ? ` ${caps}` : ""}\n`)),
    FLUSH,
    ...haves.map((h) => pkt(`have ${h}\n`)),
    pkt("done\n"),
  ]);

const v2Request = (wants: Oid[], haves: Oid[], args: string[], done = true) =>
  concatBytes([
    pkt("command=fetch\n"),
    pkt("agent=test\n"),
    new TextEncoder().encode("0001"),
    ...args.map((a) => pkt(`${a}\n`)),
    ...wants.map((w) => pkt(`want ${w}\n`)),
    ...haves.map((h) => pkt(`have ${h}\n`)),
    ...(done ? [pkt("done\n")] : []),
    FLUSH,
  ]);

/** Each entry of a pack: its offset and, for deltas, where its base is (-1: not in the pack). */
async function packLayout(pack: Uint8Array) {
  const indexed = await indexPack(new MemorySource("received", pack), {
    // A thin pack's bases are the client's: known to be absent here.
    external: async (oid) => {
      const o = repo.objects.get(oid);
      return o ? { type: o.type, data: o.data } : null;
    },
  });
  const packed = new PackIndex(indexed.index).entries();
  const offsetOf = new Map(packed.map((e) => [e.oid, e.offset]));
  const entries = packed.map((e) => {
    const header = parseEntryHeader(pack, e.offset, e.offset)!;
    const baseAt =
      header.type === OBJ_OFS_DELTA
        ? header.baseOffset!
        : header.type === OBJ_REF_DELTA
          ? (offsetOf.get(header.baseOid!) ?? -1)
          : null;
    return { oid: e.oid, offset: e.offset, type: header.type, baseAt };
  });
  return { entries, index: indexed.index, missingBases: indexed.missingBases };
}

describe("packs sent to clients", () => {
  for (const ofs of [true, false]) {
    it(`write every delta's base before the delta (${ofs ? "with" : "without"} ofs-delta)`, async () => {
      const caps = `multi_ack_detailed side-band-64k no-progress${ofs ? " ofs-delta" : ""}`;
      const answer = await uploadPack(v0Request([ids.c3], [], caps), false);
      expect(answer.errors).toEqual([]);
      const layout = await packLayout(answer.pack);
      expect(layout.missingBases).toEqual([]);
      const deltas = layout.entries.filter((e) => e.baseAt !== null);
      // The stored deltas are reused, not rebuilt whole.
      expect(deltas.map((e) => e.oid).sort()).toEqual([ids.blob2, ids.blob3, ids.tree2].sort());
      for (const d of deltas) expect(d.baseAt, `base of ${d.oid}`).toBeGreaterThan(0);
      for (const d of deltas) expect(d.baseAt!, `base of ${d.oid}`).toBeLessThan(d.offset);
      if (ofs) expect(deltas.every((d) => d.type === OBJ_OFS_DELTA)).toBe(true);
      else expect(deltas.every((d) => d.type === OBJ_REF_DELTA)).toBe(true);
      // Everything main reaches (all but the tag), and the objects read back intact.
      expect(layout.entries.length).toBe(repo.objects.size - 1);
      const store = new ObjectStore([new Pack("p", new PackIndex(layout.index), new MemorySource("p", answer.pack))]);
      for (const oid of [ids.blob3, ids.tree2]) {
        const o = await store.read(oid);
        expect(hashObject(o.type, o.data)).toBe(oid);
      }
    });
  }

  it("does the same in protocol v2", async () => {
    const answer = await uploadPack(v2Request([ids.c3, ids.tag], [], ["ofs-delta", "no-progress"]), true);
    expect(answer.errors).toEqual([]);
    const layout = await packLayout(answer.pack);
    for (const d of layout.entries.filter((e) => e.baseAt !== null)) {
      expect(d.baseAt!).toBeGreaterThan(0);
      expect(d.baseAt!).toBeLessThan(d.offset);
    }
    expect(layout.entries.length).toBe(repo.objects.size);
  });
});

describe("negotiation", () => {
  it("accepts an annotated tag as a have (v0): it stands for its commit", async () => {
    const caps = "multi_ack_detailed side-band-64k ofs-delta no-progress";
    const answer = await uploadPack(v0Request([ids.c3], [ids.tag], caps), false);
    expect(answer.text.join("\n")).not.toMatch(/ERR/);
    expect(answer.errors).toEqual([]);
    expect(answer.text).toContain(`ACK ${ids.tag} common`);
    const layout = await packLayout(answer.pack);
    const sent = new Set(layout.entries.map((e) => e.oid));
    expect(sent.has(ids.c3) && sent.has(ids.c2)).toBe(true);
    // The tag implies c1 and its tree: not sent again.
    expect(sent.has(ids.c1)).toBe(false);
    expect(sent.has(ids.tag)).toBe(false);
    expect(sent.has(ids.tree1)).toBe(false);
  });

  it("accepts a tag, a tree and a blob as haves (v2), and ignores ids it does not have", async () => {
    const unknown = "1234567890123456789012345678901234567890";
    const haves = [ids.tag, ids.tree2, ids.blob1, unknown];
    // Without done: the acknowledgments section.
    const acks = await uploadPack(v2Request([ids.c3], haves, ["ofs-delta", "no-progress"], false), true);
    expect(acks.text[0]).toBe("acknowledgments");
    expect(acks.text).toEqual(expect.arrayContaining([`ACK ${ids.tag}`, `ACK ${ids.tree2}`, `ACK ${ids.blob1}`]));
    expect(acks.text).not.toContain(`ACK ${unknown}`);
    expect(acks.text.join("\n")).not.toMatch(/ERR/);
    // With done: the pack, without what the haves imply.
    const answer = await uploadPack(v2Request([ids.c3], haves, ["ofs-delta", "no-progress"]), true);
    expect(answer.text.join("\n")).not.toMatch(/ERR/);
    expect(answer.errors).toEqual([]);
    const sent = new Set((await packLayout(answer.pack)).entries.map((e) => e.oid));
    expect(sent.has(ids.c3)).toBe(true);
    expect(sent.has(ids.c1) || sent.has(ids.tag)).toBe(false);
  });
});

describe("reachability checks", () => {
  it("answer false once their budget is spent: whatever asks only shows reachable things fails closed", async () => {
    const { pack } = repo.pack();
    const indexed = await indexPack(new MemorySource("r", pack));
    const graph = new CommitGraph(new ObjectStore([new Pack("r", new PackIndex(indexed.index), new MemorySource("r", pack))]));
    expect(await isReachable(graph, ids.c1, [ids.c3])).toBe(true);
    expect(await isReachable(graph, ids.c1, [ids.c3], new Budget(Infinity, 10))).toBe(true);
    expect(await isReachable(graph, ids.c1, [ids.c3], new Budget(Infinity, 1))).toBe(false);
    expect(await isReachable(graph, ids.c3, [ids.c1])).toBe(false);
  });
});
