// Blame (issue 19) checked against `git blame --porcelain` of a repository made with the real git
// (test/fixtures/blame-repo.json, made by make-blame-repo.ts): a long file with 150 revisions, moved
// blocks and a merge, a file deleted and added back, a last line without a newline; with and
// without the commit-graph. And the work it does, counted: each version of the file read once and
// only its lines around the changes split and looked up, and diffs whose comparisons follow the
// lines, not the square of them.
import { describe, expect, it } from "vitest";
import fixture from "../fixtures/blame-repo.json";
import { blame, type BlameResult, type BlameWatch, ID_TABLES_FIRST_OBJECTS } from "../../src/git/blame";
import { Budget } from "../../src/git/budget";
import { CommitGraph } from "../../src/git/commit-graph";
import { extendCommitGraph } from "../../src/git/commit-graph-build";
import { GraphLayer, PersistedGraph } from "../../src/git/commit-graph-file";
import { diffIds, equalRuns } from "../../src/git/diff";
import { DiffBuffers } from "../../src/git/diff-buffers";
import { LineTable } from "../../src/git/line-ids";
import { ObjectStore, Pack } from "../../src/git/object-store";
import type { Oid } from "../../src/git/oid";
import { PackIndex, writePackIndexColumns } from "../../src/git/pack-index";
import { ID_TABLE_BYTES_PER_OBJECT } from "../../src/git/pack-id-table";
import { RangedPackIndex } from "../../src/git/pack-index-ranged";
import { setRangedPageBudget } from "../../src/git/pack-index-unit-cache";
import { indexPack } from "../../src/git/pack-indexer";
import { MemorySource } from "../../src/git/range-source";
import { idTableFileOf } from "../../src/git/pack-id-table-file";
import { RoundsSource } from "./rounds-source";
import { blameWithin, forgetBlameRuns, NEAR_END_MS, readMarginCommit, sharedBlame } from "../../src/services/blame-runs";
import type { SourceRepo } from "../../src/services/source";

const revs = fixture.revs as Record<"tip" | "older", Oid>;
const encoder = new TextEncoder();

let opened: Promise<{ store: ObjectStore; graph: PersistedGraph; source: MemorySource; idx: Uint8Array }> | undefined;
function open() {
  opened ??= (async () => {
    const pack = Uint8Array.from(atob(fixture.pack), (c) => c.charCodeAt(0));
    const source = new MemorySource("blame-repo.pack", pack);
    const idx = (await indexPack(source)).index;
    const store = new ObjectStore([new Pack("blame", new PackIndex(idx), source)]);
    let chain: GraphLayer[] = [];
    let n = 0;
    await extendCommitGraph(
      {
        store,
        graph: null,
        writeLayer: async (bytes) => GraphLayer.open(new MemorySource(`blame-layer-${n++}`, bytes)),
        saveChain: async (layers) => {
          chain = layers;
        },
      },
      [revs.tip],
    );
    return { store, graph: new PersistedGraph(chain), source, idx };
  })();
  return opened;
}

async function walker(withGraph: boolean): Promise<CommitGraph> {
  const { store, graph } = await open();
  const g = new CommitGraph(store);
  if (withGraph) g.usePersisted(async () => graph);
  return g;
}

describe("blame", () => {
  for (const withGraph of [true, false]) {
    it(`answers as git blame does, ${withGraph ? "with" : "without"} the commit-graph`, async () => {
      for (const [key, expected] of Object.entries(fixture.blame)) {
        const [rev, path] = key.split(" ") as ["tip" | "older", string];
        const result = await blame(await walker(withGraph), revs[rev], path.split("/"));
        expect(result.complete).toBe(true);
        expect(
          result.lines.map((l) => [l.commit, l.line]),
          `blame ${key}`,
        ).toEqual(expected);
      }
    });
  }

  it("reads each version once, looks up only the lines around its changes, and diffs in about one comparison a line", async () => {
    const result = await blame(await walker(true), revs.tip, ["long.txt"]);
    const { blobReads, diffs, linesHashed, compared } = result.work;
    // One read per revision of the file (and the merge's second parent's version), no more.
    expect(blobReads).toBeLessThanOrEqual(fixture.revisions + 2);
    expect(diffs).toBeLessThanOrEqual(fixture.revisions + 2);
    // Each version split and looked up once (not once for every diff it takes part in), and only
    // its lines near the changes from the child's version: 3% of all lines here (with the shared
    // start and end alone it was every line between the first and the last change, 57%).
    const longest = fixture.lines + 60;
    expect(linesHashed).toBeLessThan(0.1 * blobReads * fixture.lines);
    // Comparisons: each unchanged line about once, plus the changes' square (a few lines each).
    expect(compared).toBeLessThanOrEqual(diffs * (longest + 400));
    // The diffs' flags, diagonals and runs live in buffers the run reuses: a handful for all its
    // diffs (a new set for each diff was most of a run's garbage: bench/scale-results.md).
    expect(diffs).toBeGreaterThan(100);
    expect(result.work.diffBuffers).toBeLessThanOrEqual(12);
  });

  it("looks ids up in the pack's id table once the walk is long, not by a ranged index read each", async () => {
    const { graph, source, idx } = await open();
    // Index units of 4 KiB and a cache of four, so that the fixture's index is larger than the
    // cache, as a large repository's is in production; a new index id: nothing of it cached.
    const budget = setRangedPageBudget(16 * 1024);
    try {
      const index = await RangedPackIndex.open(new MemorySource(`blame-idx-${Math.random()}`, idx));
      const g = new CommitGraph(new ObjectStore([new Pack("blame", index, source)]));
      g.usePersisted(async () => graph);
      const result = await blame(g, revs.tip, ["long.txt"]);
      expect(result.lines.map((l) => [l.commit, l.line])).toEqual(fixture.blame["tip long.txt"]);
      expect(result.work.idTables).toBe(true);
      // The fan-out table, the lookups of the first steps, and the id table's two reads: without
      // the table every lookup past the first steps read a unit (476 reads here).
      expect(index.reads).toBeLessThan(40);
    } finally {
      setRangedPageBudget(budget);
    }
  });

  /** The fixture's .idx with 360,000 made-up entries more (never looked up): a table of 4.3 MB, over the 4 MiB a walk could read before. */
  async function bigIndex(): Promise<Uint8Array> {
    const { idx } = await open();
    const real = new PackIndex(idx);
    const n = real.count + 360_000;
    const oids = new Uint8Array(20 * n);
    const offsets = new Float64Array(n).fill(12);
    const crcs = new Uint32Array(n);
    for (let i = 0; i < real.count; i++) {
      oids.set(real.oidBytesAt(i), 20 * i);
      offsets[i] = real.offsetAt(i);
      crcs[i] = real.crcAt(i);
    }
    let seed = 19;
    for (let b = 20 * real.count; b < oids.length; b += 4) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      new DataView(oids.buffer).setUint32(b, seed ^ (b * 2654435761));
    }
    return writePackIndexColumns(oids, offsets, crcs, idx.subarray(idx.length - 40, idx.length - 20));
  }

  /** The fixture's blame on `index` (a ranged index of bigIndex), with a small unit cache. */
  async function blameOn(index: RangedPackIndex): Promise<BlameResult> {
    const { graph, source } = await open();
    const budget = setRangedPageBudget(16 * 1024);
    try {
      const g = new CommitGraph(new ObjectStore([new Pack("blame-big", index, source)]));
      g.usePersisted(async () => graph);
      const result = await blame(g, revs.tip, ["long.txt"]);
      expect(result.lines.map((l) => [l.commit, l.line])).toEqual(fixture.blame["tip long.txt"]);
      expect(result.work.idTables).toBe(true);
      return result;
    } finally {
      setRangedPageBudget(budget);
    }
  }

  it("looks ids up in the id table of a pack bigger than 350,000 objects (git/git's 900,000 fit the isolate's budget), read before the first step", async () => {
    const index = await RangedPackIndex.open(new MemorySource(`blame-big-idx-${Math.random()}`, await bigIndex()));
    expect(index.count * ID_TABLE_BYTES_PER_OBJECT).toBeGreaterThan(4 * 1024 * 1024);
    await blameOn(index);
    // Read before the first step (a pack this big): the table's reads alone, two a batch of
    // 65,536 ids, and no lookup by ranges. Read at the eighth step, the first steps' lookups
    // came first (50 to 64 reads in all); by ranges every lookup read a unit (over 450 here).
    expect(index.count).toBeGreaterThanOrEqual(ID_TABLES_FIRST_OBJECTS);
    expect(index.reads).toBeLessThanOrEqual(2 * Math.ceil(index.count / 65_536) + 1);
  });

  it("reads the id table from the pack's id table file when it has one: 12 bytes an object, not the .idx's 24", async () => {
    const big = await bigIndex();
    const count = (source: MemorySource) => {
      const read = source.read.bind(source);
      const counted = { bytes: 0, source };
      source.read = async (start, end) => {
        const bytes = await read(start, end);
        counted.bytes += bytes.length;
        return bytes;
      };
      return counted;
    };
    const idx = count(new MemorySource(`blame-big-idx-${Math.random()}`, big));
    const file = count(new MemorySource(`blame-big-ids-${Math.random()}`, idTableFileOf(big)));
    const index = (await RangedPackIndex.open(idx.source)).withIdTable({ source: file.source, present: async () => true });
    await blameOn(index);
    // From the .idx only its head and fan-out (read when opened); the table's 12 bytes an object
    // from the file, two reads a batch of 131,072 ids. Without the file: 24 bytes an object from
    // the .idx (the test above), two reads a batch of 65,536.
    expect(idx.bytes).toBe(8 + 1024);
    expect(file.bytes).toBe(index.count * 12);
    expect(index.reads).toBeLessThanOrEqual(2 * Math.ceil(index.count / 131_072) + 1);
  });

  it("reads ahead of the walk: the trees and versions of the next commits are read while it diffs", async () => {
    const { graph, source, idx } = await open();
    const bytes = await source.read(0, source.size);
    const run = async (readAhead?: number) => {
      // A new source id: nothing of it in the isolate's caches.
      const storage = new RoundsSource(`ahead-${readAhead}-${Math.random()}`, bytes);
      const g = new CommitGraph(new ObjectStore([new Pack("blame", new PackIndex(idx), storage)]));
      g.usePersisted(async () => graph);
      const result = await blame(g, revs.tip, ["long.txt"], { readAhead });
      expect(result.lines.map((l) => [l.commit, l.line])).toEqual(fixture.blame["tip long.txt"]);
      return { storage, result };
    };
    const inTurn = await run(0);
    const ahead = await run();
    expect(ahead.result.work.readAhead).toBeGreaterThan(fixture.revisions / 2);
    // The same reads, in fewer rounds (one read a round without reading ahead).
    expect(ahead.storage.reads).toBeLessThanOrEqual(inTurn.storage.reads + 8);
    expect(inTurn.storage.rounds).toBeGreaterThan(0.9 * inTurn.storage.reads);
    expect(ahead.storage.rounds).toBeLessThan(0.5 * inTurn.storage.rounds);
  });

  it("passes each commit its filter rules out once, though reading ahead predicts the walk the same way", async () => {
    const run = async (readAhead?: number) => {
      const g = await walker(true);
      const passes = countPasses(g);
      // A file changed every 30th edit of the long file: the walk passes the commits between.
      const result = await blame(g, revs.tip, ["tail.txt"], { readAhead });
      expect(result.lines.map((l) => [l.commit, l.line])).toEqual(fixture.blame["tip tail.txt"]);
      return { passed: passes.passed, ahead: result.work.readAhead };
    };
    const inTurn = await run(0);
    expect(inTurn.passed).toBeGreaterThan(100);
    const ahead = await run();
    expect(ahead.ahead).toBeGreaterThan(0);
    // The walk takes the prediction's answers: on long70k each of the 69,000 commits passed was
    // passed twice, by the prediction and then by the walk.
    // (A few more: the prediction runs ahead of where the walk ends.)
    expect(ahead.passed).toBeLessThan(1.1 * inTurn.passed);
  });

  it("passes commits by their filters without a view or a record made for each", async () => {
    const g = await walker(true);
    await blame(g, revs.tip, ["tail.txt"], { readAhead: 0 }); // the graph's pages read
    // Views made while passing (typed arrays are counted as they are made: `subarray`).
    let views = 0;
    const passes = countPasses(g);
    const subarray = Uint8Array.prototype.subarray;
    Uint8Array.prototype.subarray = function (this: Uint8Array, ...args) {
      if (passes.passing) views++;
      return subarray.apply(this, args);
    };
    try {
      const result = await blame(g, revs.tip, ["tail.txt"], { readAhead: 0 });
      expect(result.lines.map((l) => [l.commit, l.line])).toEqual(fixture.blame["tip tail.txt"]);
    } finally {
      Uint8Array.prototype.subarray = subarray;
    }
    expect(passes.passed).toBeGreaterThan(100);
    // A view of each commit's filter before (and a record of its links): over 180 here, 69,000 for
    // the long file on long70k, a third of that blame's garbage.
    expect(views).toBeLessThan(10);
  });

  it("decodes no text: line ids come from the versions' bytes", async () => {
    // Every decoder's bytes counted (the walk's own, made before this test, included): each
    // version of the long file was decoded whole before (41 MB a blame of the bench's long file).
    const decode = TextDecoder.prototype.decode;
    let decoded = 0;
    TextDecoder.prototype.decode = function (this: TextDecoder, ...args: Parameters<TextDecoder["decode"]>) {
      decoded += args[0]?.byteLength ?? 0;
      return decode.apply(this, args);
    };
    try {
      const result = await blame(await walker(true), revs.tip, ["long.txt"]);
      expect(result.lines.map((l) => [l.commit, l.line])).toEqual(fixture.blame["tip long.txt"]);
      expect(result.work.blobReads).toBeGreaterThan(100);
      expect(decoded).toBe(0);
    } finally {
      TextDecoder.prototype.decode = decode;
    }
  });

  it("gives the same answer when its table of line ids starts over (bounded memory)", async () => {
    const lines = new LineTable(2_000); // less than one version of the long file: over at every diff
    const result = await blame(await walker(true), revs.tip, ["long.txt"], { lines });
    expect(lines.generation).toBeGreaterThan(100);
    expect(result.lines.map((l) => [l.commit, l.line])).toEqual(fixture.blame["tip long.txt"]);
  });

  it("writes its versions' line ids and starts into the arrays of versions it dropped, not two new arrays a version", async () => {
    const lines = new LineTable();
    const buffers = new Set<ArrayBufferLike>();
    let versions = 0;
    const idsOf = lines.idsOf.bind(lines);
    lines.idsOf = (data, base) => {
      const v = idsOf(data, base);
      versions++;
      buffers.add(v.ids.buffer).add(v.starts.buffer);
      return v;
    };
    // Room for a few versions of long.txt (451 lines) at once: the versions kept are dropped often.
    const result = await blame(await walker(true), revs.tip, ["long.txt"], { lines, versionBytes: 64 * 1024 });
    expect(result.lines.map((l) => [l.commit, l.line])).toEqual(fixture.blame["tip long.txt"]);
    expect(versions).toBe(result.work.blobReads);
    expect(versions).toBeGreaterThan(100);
    // Two arrays a version before (2 × 150 and more). Now those of the versions held at once, and a few more.
    expect(buffers.size).toBeLessThan(versions / 2);
  });
});

/** A budget that calls `at` once when the walk has taken `n` steps (a point mid-run, not a time). */
/** Counts the commits `g` passes by their Bloom filters (`firstMaybeChanged`); `passing` while it does. */
function countPasses(g: CommitGraph): { passed: number; passing: boolean } {
  const counts = { passed: 0, passing: false };
  const pass = g.firstMaybeChanged.bind(g);
  g.firstMaybeChanged = async (...args) => {
    counts.passing = true;
    try {
      const to = await pass(...args);
      counts.passed += to.passed;
      return to;
    } finally {
      counts.passing = false;
    }
  };
  return counts;
}

class StepHook extends Budget {
  constructor(
    private readonly n: number,
    private readonly at: () => unknown,
  ) {
    super();
  }
  override async step(): Promise<boolean> {
    if (this.used === this.n) await this.at();
    return super.step();
  }
}

describe("blame runs shared by pages", () => {
  it("shows a run in progress: every line where the search is, the lines found so far final and right", async () => {
    const watch: BlameWatch = {};
    let mid: BlameResult | undefined;
    const result = await blame(await walker(true), revs.tip, ["long.txt"], {
      watch,
      budget: new StepHook(40, () => (mid = watch.snapshot!())),
    });
    expect(mid!.complete).toBe(false);
    expect(mid!.lines.length).toBe(result.lines.length);
    const final = mid!.lines.flatMap((l, i) => (l.final ? [[l, result.lines[i]]] : []));
    expect(final.length).toBeGreaterThan(0);
    for (const [found, end] of final) expect(found).toEqual(end);
    expect(mid!.lines.filter((l) => l && !l.final).length).toBeGreaterThan(0);
    // Not final: the line is at that commit or came from an older one, never a newer one.
    const timeOf = async (oid: Oid) => (await (await walker(true)).commit(oid)).time;
    for (let i = 0; i < result.lines.length; i++) {
      expect(await timeOf(mid!.lines[i]!.commit)).toBeGreaterThanOrEqual(await timeOf(result.lines[i]!.commit));
    }
    // Once done, the watch answers the result.
    expect(watch.snapshot!()).toBe(result);
  });

  it("runs blame once for the pages that ask while it runs, and answers later pages from it", async () => {
    forgetBlameRuns();
    let started = 0;
    const start = async (watch: BlameWatch) => {
      started++;
      return blame(await walker(true), revs.tip, ["long.txt"], { watch });
    };
    const key = "t/r@tip:long.txt";
    const later = Date.now() + 60_000;
    const first = sharedBlame(key, later, start);
    // A page that cannot wait (its wait is over at once) shows the run as it is, or nothing yet.
    const early = await blameWithin(sharedBlame(key, later, start), Promise.resolve());
    expect(early?.complete ?? false).toBe(false);
    const [a, b] = await Promise.all([
      blameWithin(first, new Promise(() => {})),
      blameWithin(sharedBlame(key, later, start), new Promise(() => {})),
    ]);
    expect(a).toBe(b);
    expect(a!.lines.map((l) => [l.commit, l.line])).toEqual(fixture.blame["tip long.txt"]);
    expect((await blameWithin(sharedBlame(key, later, start), Promise.resolve()))!).toBe(a);
    expect(started).toBe(1);
  });

  it("waits a little longer for a run near its end, and not for one far from it", async () => {
    const page = async (stopAt: number) => {
      forgetBlameRuns();
      // The run pauses at step `stopAt` until the page has stopped waiting (its first wait, over at
      // once) and gone on to wait more, or not.
      let resume!: () => void;
      const paused = new Promise<void>((r) => (resume = r));
      let atPause!: () => void;
      const reached = new Promise<void>((r) => (atPause = r));
      const run = sharedBlame(`t/r@tip:long.txt:${stopAt}`, Date.now() + 60_000, async (watch) => {
        return blame(await walker(true), revs.tip, ["long.txt"], {
          watch,
          budget: new StepHook(stopAt, () => {
            atPause();
            return paused;
          }),
        });
      });
      await reached;
      // Its pace: a second for the history walked so far (a clock of the test's, not the machine's).
      run.startedAt = Date.now() - 1000;
      let more = 0;
      const result = await blameWithin(run, Promise.resolve(), (ms) => {
        more = ms;
        resume();
        return new Promise(() => {});
      });
      resume();
      await run.done;
      return { result, more, left: run.now()?.left };
    };
    // Near the end (the history below it a sliver of what the run has walked): it waits for the
    // run and shows it complete; on the base, the page showed the run as it was then.
    const steps = (await blame(await walker(true), revs.tip, ["long.txt"])).steps;
    const near = await page(steps - 3);
    expect(near.more).toBe(NEAR_END_MS);
    expect(near.result!.complete).toBe(true);
    expect(near.result!.lines.map((l) => [l.commit, l.line])).toEqual(fixture.blame["tip long.txt"]);
    // Far from it: the page shows where the run is.
    const far = await page(5);
    expect(far.more).toBe(0);
    expect(far.result!.complete).toBe(false);
  });

  it("reads the margin's commits while the walk goes on, each once, as the walk names them", async () => {
    forgetBlameRuns();
    // The walk's step when each commit was read: reads that start only after the walk (as before)
    // would all be at its last step.
    let budget: Budget | undefined;
    const readAt = new Map<Oid, number>();
    const run = sharedBlame(
      "t/r@tip:long.txt",
      Date.now() + 60_000,
      async (watch) => blame(await walker(true), revs.tip, ["long.txt"], { watch, budget: (budget = new Budget()) }),
      async (oid) => {
        expect(readAt.has(oid)).toBe(false);
        readAt.set(oid, budget!.used);
        return { subject: `s ${oid}`, author: "a", time: 1 };
      },
    );
    const result = await run.done;
    await run.margin.settled();
    const named = new Set(result.lines.filter((l) => l.final).map((l) => l.commit));
    expect(named.size).toBeGreaterThan(20);
    expect(new Set(readAt.keys())).toEqual(named);
    for (const oid of named) expect(run.margin.ready(oid)?.subject).toBe(`s ${oid}`);
    const steps = budget!.used;
    const during = [...readAt.values()].filter((step) => step < steps).length;
    expect(during).toBeGreaterThan(0.8 * named.size);
  });

  it("reads a margin commit alone: the commits after it in the pack are not inflated and hashed", async () => {
    const { source } = await open();
    const idx = new PackIndex((await open()).idx);
    // Reads of what lies after an entry already in memory: only learning the next commits does that.
    class Counting extends MemorySource {
      peeks = 0;
      override peek(start: number, end: number) {
        this.peeks++;
        return super.peek(start, end);
      }
    }
    const storeOver = (counting: Counting) => new ObjectStore([new Pack("blame", idx, counting)]);
    const bytes = await source.read(0, source.size);
    // New source ids: nothing of them in the isolate's caches.
    const usual = new Counting(`margin-usual-${Math.random()}`, bytes);
    await storeOver(usual).readTyped(revs.older, "commit");
    expect(usual.peeks).toBeGreaterThan(10);
    const margin = new Counting(`margin-${Math.random()}`, bytes);
    const src = { store: storeOver(margin) } as unknown as SourceRepo;
    const c = await readMarginCommit(src, revs.older);
    expect(c.subject.length).toBeGreaterThan(0);
    expect(margin.peeks).toBe(0);
  });

  it("starts over after a run that ran out of budget or is past its time", async () => {
    forgetBlameRuns();
    let started = 0;
    const start = (budget: () => Budget) => async (watch: BlameWatch) => {
      started++;
      return blame(await walker(true), revs.tip, ["long.txt"], { watch, budget: budget() });
    };
    const key = "t/r@tip:long.txt";
    const later = Date.now() + 60_000;
    const partial = await sharedBlame(
      key,
      later,
      start(() => new Budget(Infinity, 3)),
    ).done;
    expect(partial.complete).toBe(false);
    // A run whose time is over (a request workerd cancelled leaves one that never ends).
    sharedBlame(key, Date.now() - 1, () => new Promise<BlameResult>(() => {}));
    const full = await sharedBlame(
      key,
      later,
      start(() => new Budget()),
    ).done;
    expect(full.complete).toBe(true);
    expect(started).toBe(2);
  });
});

describe("line ids", () => {
  it("are equal for equal lines across versions, and tell a last line without a newline apart", () => {
    const t = new LineTable();
    const a = t.idsOf(encoder.encode("x\ny\nz\n"));
    const b = t.idsOf(encoder.encode("y\nx\nz"));
    expect([...a.ids]).toEqual([0, 1, 2]);
    expect([...b.ids]).toEqual([1, 0, 3]);
    expect([...t.idsOf(encoder.encode("")).ids]).toEqual([]);
    expect(t.linesHashed).toBe(6);
  });

  it("tell apart lines that differ only in bytes that are not UTF-8, as git does", () => {
    // Decoded, both lines were U+FFFD: the same id, so blame passed one for the other.
    const t = new LineTable();
    const a = t.idsOf(Uint8Array.of(0x61, 10, 0xff, 10, 0x62, 10));
    const b = t.idsOf(Uint8Array.of(0x61, 10, 0xfe, 10, 0x62, 10), a);
    expect([...a.ids]).toEqual([0, 1, 2]);
    expect([...b.ids]).toEqual([0, 3, 2]);
    expect([...t.idsOf(Uint8Array.of(0xfe, 10)).ids]).toEqual([3]);
  });

  it("take a base version's ids for the whole lines they share at the start and the end", () => {
    const t = new LineTable();
    const cases: [string, string][] = [
      ["a\nb\nc\nd\n", "a\nb\nX\nd\n"],
      ["a\nb\nc\nd\n", "a\nb\nc\nd"], // the last newline dropped
      ["a\nb\nc\nd", "a\nb\nc\nd\n"],
      ["ab\nc\n", "b\nc\n"], // shared text at the end that is not a whole line in both
      ["\nx\n", "y\nx\n"],
      ["x\ny\n", "x\ny\nx\ny\n"],
      ["same\n", "same\n"],
      ["", "a\n"],
      ["a\n", ""],
    ];
    for (const [before, after] of cases) {
      const base = t.idsOf(encoder.encode(before));
      const plain = t.idsOf(encoder.encode(after));
      const reused = t.idsOf(encoder.encode(after), base);
      expect([...reused.ids], `${JSON.stringify(before)} -> ${JSON.stringify(after)}`).toEqual([...plain.ids]);
    }
  });

  it("look up only the lines between the first and the last change when given the base", () => {
    const t = new LineTable();
    const text = (mid: string) => Array.from({ length: 3000 }, (_, i) => (i === 1500 ? mid : `line ${i}`)).join("\n");
    const base = t.idsOf(encoder.encode(text("old")));
    const before = t.linesHashed;
    t.idsOf(encoder.encode(text("new")), base);
    expect(t.linesHashed - before).toBe(1);
  });

  it("look up only the changed lines when the changes are far apart, wherever they are", () => {
    const t = new LineTable();
    const changed = new Set([2, 700, 1500, 2200, 2997]);
    const text = (tag: string) =>
      Array.from({ length: 3000 }, (_, i) => (changed.has(i) ? `${tag} ${i}` : `line ${i}`)).join("\n");
    const base = t.idsOf(encoder.encode(text("old")));
    const before = t.linesHashed;
    const reused = t.idsOf(encoder.encode(text("new")), base);
    expect(t.linesHashed - before).toBe(changed.size);
    expect([...reused.ids]).toEqual([...t.idsOf(encoder.encode(text("new"))).ids]);
  });

  it("give the ids of looking every line up, after random edits, moves and repeated lines", () => {
    let seed = 19;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const pool = ["}", "", "  return x;", "// same", "{"];
    const line = () => (random(3) === 0 ? pool[random(pool.length)]! : `line ${random(100_000)} ${"x".repeat(random(60))}`);
    let lines = Array.from({ length: 1500 }, line);
    const t = new LineTable();
    let previous = t.idsOf(encoder.encode(lines.join("\n")));
    for (let version = 0; version < 200; version++) {
      lines = lines.slice();
      for (let k = random(6); k >= 0; k--) {
        const at = random(lines.length);
        const op = random(4);
        if (op === 0) lines[at] = line();
        else if (op === 1) lines.splice(at, 0, ...Array.from({ length: 1 + random(4) }, line));
        else if (op === 2) lines.splice(at, 1 + random(4));
        else lines.splice(random(lines.length), 0, ...lines.splice(at, 5 + random(25))); // a moved block
      }
      const text = lines.join("\n") + (random(5) === 0 ? "" : "\n");
      const reused = t.idsOf(encoder.encode(text), previous);
      const plain = t.idsOf(encoder.encode(text));
      expect([...reused.ids], `version ${version}`).toEqual([...plain.ids]);
      expect([...reused.starts], `version ${version}`).toEqual([...plain.starts]);
      previous = reused;
    }
  });

  it("diff in comparisons that follow the changes, not the file's square", () => {
    // 20,000 lines with three changes far apart.
    const a = Int32Array.from({ length: 20_000 }, (_, i) => i);
    const b = a.slice();
    b[100] = -1;
    b[10_000] = -2;
    b[19_000] = -3;
    const stats = { compared: 0 };
    const chunks = diffIds(a, b, stats);
    expect(chunks.filter((c) => !c.equal).map((c) => c.bStart)).toEqual([100, 10_000, 19_000]);
    expect(stats.compared).toBeLessThan(3 * 20_000);
  });

  it("give the same answer with buffers reused over many diffs, small and large, as with new ones", () => {
    // A seeded generator: the same edits every run.
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const buffers = new DiffBuffers();
    let a = Int32Array.from({ length: 1_500 }, () => rand(40));
    for (let round = 0; round < 40; round++) {
      // Mostly a few edits; every tenth round hundreds (Myers' trace past what the buffers keep).
      const edits = round % 10 === 9 ? 700 : 1 + rand(12);
      const b = Array.from(a);
      for (let e = 0; e < edits; e++) {
        const at = rand(b.length + 1);
        if (rand(3) === 0) b.splice(at, 1);
        else if (rand(2) === 0) b.splice(at, 0, 100 + rand(40));
        else b[at] = 100 + rand(40);
      }
      const bi = Int32Array.from(b);
      const allocated = buffers.allocations;
      const fresh = diffIds(a, bi);
      expect(diffIds(a, bi, { compared: 0 }, buffers), `round ${round}`).toEqual(fresh);
      const n = equalRuns(a, bi, { compared: 0 }, buffers);
      const runs = Array.from({ length: n }, (_, k) => Array.from(buffers.ints("runs", 0).subarray(3 * k, 3 * k + 3)));
      expect(runs).toEqual(fresh.filter((c) => c.equal).map((c) => [c.aStart, c.bStart, c.aLen]));
      // Every chunk pairs equal lines only.
      const unequal = fresh.filter(
        (c) => c.equal && a.subarray(c.aStart, c.aStart + c.aLen).some((id, i) => id !== bi[c.bStart + i]),
      );
      expect(unequal).toEqual([]);
      // Past the first rounds, small diffs allocate nothing (a large one's trace is its own).
      if (round >= 10 && edits < 100) expect(buffers.allocations, `round ${round}`).toBe(allocated);
      a = bi;
    }
  });
});
