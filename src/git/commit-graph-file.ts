// The persisted commit-graph, in the spirit of git's (Documentation/technical/commit-graph.adoc):
// a chain of immutable layer files, each listing commits parents-first with their id, root tree,
// parent positions, generation number, committer time and changed-path Bloom filter. Layers are
// read by ranges through one byte-bounded page cache, never whole.
import { type BloomKey, filterMayContain } from "./bloom";
import { graphStep } from "../utils/pace";
import { corruptPack } from "./errors";
import { hexInto, oidAt, type Oid } from "./oid";
import { DATA, EXTRA, FANOUT, type GraphCommit, HEADER, LOOK, MAGIC, NONE, VERSION } from "./commit-graph-format";
import type { RangeSource } from "./range-source";
import { concatBytes } from "../utils/bytes";
import { inflightReads } from "../utils/request-scope";
import { edgeLru } from "../utils/edge-budget";

// Large enough that a walk over a few thousand commits costs a handful of reads, not hundreds
// (a layer of 16,384 commits is about 1 MiB of records and 240 KiB of lookups).
const PAGE = 64 * 1024;

/** Layer pages of every repository, shared by the isolate's requests (layers are immutable). */
const pages = edgeLru<string, Uint8Array>("git.commit-graph-pages", (p) => p.length + 64);

export const graphPageBytes = (): number => pages.bytes;

/** The last few pages read, outside the cache's accounting (eight pages at most). */
interface HotPage {
  layer: GraphLayer;
  page: number;
  data: Uint8Array;
  view: DataView;
}
const hot: HotPage[] = [];
function remember(layer: GraphLayer, page: number, data: Uint8Array): HotPage {
  const h = { layer, page, data, view: new DataView(data.buffer, data.byteOffset, data.length) };
  hot.unshift(h);
  if (hot.length > 8) hot.pop();
  return h;
}

/** Committer time, parent positions and generation number (1 for a root) of a commit. */
export interface CommitLinks {
  time: number;
  parents: number[];
  generation: number;
}

/** One layer file, read by ranges. */
export class GraphLayer {
  readonly count: number;
  readonly base: number;
  private readonly extraCount: number;
  private readonly lookStart = HEADER + FANOUT;
  private readonly dataStart: number;
  private readonly extraStart: number;
  private readonly bidxStart: number;
  private readonly bdatStart: number;

  private constructor(
    readonly source: RangeSource,
    private readonly fanout: Uint32Array,
    head: DataView,
  ) {
    this.count = head.getUint32(8);
    this.base = head.getUint32(12);
    this.extraCount = head.getUint32(16);
    this.dataStart = this.lookStart + this.count * LOOK;
    this.extraStart = this.dataStart + this.count * DATA;
    this.bidxStart = this.extraStart + this.extraCount * 4;
    this.bdatStart = this.bidxStart + this.count * 4;
  }

  static async open(source: RangeSource): Promise<GraphLayer> {
    const head = await source.read(0, HEADER + FANOUT);
    if (head.length < HEADER + FANOUT) throw corruptPack("truncated commit-graph layer");
    const view = new DataView(head.buffer, head.byteOffset, head.length);
    if (view.getUint32(0) !== MAGIC || view.getUint32(4) !== VERSION) throw corruptPack("not a commit-graph layer");
    const fanout = new Uint32Array(256);
    for (let i = 0; i < 256; i++) fanout[i] = view.getUint32(HEADER + i * 4);
    const layer = new GraphLayer(source, fanout, view);
    if (fanout[255] !== layer.count || source.size < layer.bdatStart) throw corruptPack("truncated commit-graph layer");
    return layer;
  }

  /** Bytes [start, end) of the file, through the shared page cache. */
  private async bytes(start: number, end: number): Promise<Uint8Array> {
    const first = Math.floor(start / PAGE);
    const last = Math.floor((end - 1) / PAGE);
    const parts: Uint8Array[] = [];
    for (let p = first; p <= last; p++) parts.push(await this.page(p));
    const all = parts.length === 1 ? parts[0]! : concatBytes(parts);
    return all.subarray(start - first * PAGE, end - first * PAGE);
  }

  /** Page `p` if it was read already (no wait): walks read record after record of a few pages. */
  private pageNow(p: number): HotPage | null {
    for (const h of hot) if (h.layer === this && h.page === p) return h;
    const hit = pages.get(`${this.source.id}#${p}`);
    return hit ? remember(this, p, hit) : null;
  }

  private async page(p: number): Promise<Uint8Array> {
    const now = this.pageNow(p);
    if (now) return now.data;
    const key = `${this.source.id}#${p}`;
    const inflight = inflightReads<Uint8Array>();
    let pending = inflight.get(key);
    if (!pending) {
      pending = this.source.read(p * PAGE, (p + 1) * PAGE).finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    const page = await pending;
    pages.set(key, page);
    remember(this, p, page);
    return page;
  }

  /** Position in this layer of a commit, or -1. */
  async find(oid: Oid): Promise<number> {
    const key = hexInto(oid, new Uint8Array(20));
    const lo0 = key[0]! === 0 ? 0 : this.fanout[key[0]! - 1]!;
    const hi0 = this.fanout[key[0]!]!;
    if (lo0 >= hi0) return -1;
    const run = await this.bytes(this.lookStart + lo0 * LOOK, this.lookStart + hi0 * LOOK);
    let lo = 0;
    let hi = hi0 - lo0;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      let d = 0;
      for (let k = 0; k < 20 && d === 0; k++) d = run[mid * LOOK + k]! - key[k]!;
      if (d === 0) return new DataView(run.buffer, run.byteOffset + mid * LOOK + 20, 4).getUint32(0);
      if (d < 0) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  }

  /** The commit at position `i` of this layer. */
  async commit(i: number): Promise<GraphCommit> {
    const rec = await this.bytes(this.dataStart + i * DATA, this.dataStart + (i + 1) * DATA);
    const view = new DataView(rec.buffer, rec.byteOffset, DATA);
    const parents: number[] = [];
    const p1 = view.getUint32(40);
    const p2 = view.getUint32(44);
    if (p1 !== NONE) parents.push(p1);
    if (p2 !== NONE && p2 & EXTRA) {
      for (let e = p2 & ~EXTRA; e < this.extraCount; e++) {
        const b = await this.bytes(this.extraStart + e * 4, this.extraStart + e * 4 + 4);
        const v = new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
        parents.push(v & ~EXTRA);
        if (v & EXTRA) break;
      }
    } else if (p2 !== NONE) parents.push(p2);
    return { oid: oidAt(rec, 0), tree: oidAt(rec, 20), parents, generation: view.getUint32(48), time: view.getFloat64(52) };
  }

  /** The id of the commit at position `i` of this layer (nothing else decoded). */
  async oid(i: number): Promise<Oid> {
    return oidAt(await this.bytes(this.dataStart + i * DATA, this.dataStart + i * DATA + 20), 0);
  }

  /** Global positions of the parents of the commit at position `i` of this layer (no id decoded). */
  async parents(i: number): Promise<number[]> {
    return (await this.links(i)).parents;
  }

  /**
   * `links(i)` when its record lies in a page already read, without waiting (walks call this for
   * every commit: no promise, no copy); null otherwise, or for an octopus merge.
   */
  linksNow(i: number): CommitLinks | null {
    const start = this.dataStart + i * DATA + 40;
    const p = Math.floor(start / PAGE);
    if (Math.floor((start + 19) / PAGE) !== p) return null;
    const h = this.pageNow(p);
    if (!h) return null;
    const o = start - p * PAGE;
    if (o + 20 > h.data.length) return null;
    const p1 = h.view.getUint32(o);
    const p2 = h.view.getUint32(o + 4);
    const generation = h.view.getUint32(o + 8);
    const time = h.view.getFloat64(o + 12);
    if (p1 === NONE) return { time, parents: [], generation };
    if (p2 === NONE) return { time, parents: [p1], generation };
    return p2 & EXTRA ? null : { time, parents: [p1, p2], generation };
  }

  /** `filter(i)` from pages already read, without waiting; null when one is not. */
  filterNow(i: number): Uint8Array | null {
    const page = this.filterInPage(i);
    return page ? page.subarray(this.found.start, this.found.end) : null;
  }

  /**
   * `filterMayContain` of `filter(i)` from pages already read, in place (no view made: a pass down
   * the first parents tests tens of thousands of filters); null when a page is not at hand.
   */
  filterMayContainNow(i: number, keys: BloomKey[]): boolean | null {
    const page = this.filterInPage(i);
    return page ? filterMayContain(page, keys, this.found.start, this.found.end) : null;
  }

  /** Where `filterInPage` found the filter in the page it returns. */
  private readonly found = { start: 0, end: 0 };

  /** The page holding filter `i` (its place in `found`), if pages already read hold it. */
  private filterInPage(i: number): Uint8Array | null {
    const at = this.bidxStart + (i > 0 ? i - 1 : 0) * 4;
    const p = Math.floor(at / PAGE);
    const h = this.pageNow(p);
    if (!h || at - p * PAGE + 8 > h.data.length) return null;
    const start = i > 0 ? h.view.getUint32(at - p * PAGE) : 0;
    const end = h.view.getUint32(at - p * PAGE + (i > 0 ? 4 : 0));
    if (end <= start) {
      this.found.start = this.found.end = 0;
      return h.data;
    }
    const from = this.bdatStart + start;
    const q = Math.floor(from / PAGE);
    if (Math.floor((this.bdatStart + end - 1) / PAGE) !== q) return null;
    const d = this.pageNow(q);
    if (!d) return null;
    this.found.start = from - q * PAGE;
    this.found.end = this.bdatStart + end - q * PAGE;
    return d.data;
  }

  /** The first parent's position of the commit at `i` (-1: none) from pages already read, or null. */
  firstParentNow(i: number): number | null {
    const start = this.dataStart + i * DATA + 40;
    const p = Math.floor(start / PAGE);
    const h = this.pageNow(p);
    if (!h || start + 4 > (p + 1) * PAGE || start - p * PAGE + 4 > h.data.length) return null;
    const p1 = h.view.getUint32(start - p * PAGE);
    return p1 === NONE ? -1 : p1;
  }

  /** Committer time and parent positions of the commit at position `i` (no id decoded). */
  async links(i: number): Promise<CommitLinks> {
    const rec = await this.bytes(this.dataStart + i * DATA + 40, this.dataStart + (i + 1) * DATA);
    const view = new DataView(rec.buffer, rec.byteOffset, 20);
    const time = view.getFloat64(12);
    const generation = view.getUint32(8);
    const p1 = view.getUint32(0);
    const p2 = view.getUint32(4);
    if (p1 === NONE) return { time, parents: [], generation };
    if (p2 === NONE) return { time, parents: [p1], generation };
    if (!(p2 & EXTRA)) return { time, parents: [p1, p2], generation };
    return { time, parents: (await this.commit(i)).parents, generation };
  }

  /** The changed-path Bloom filter of the commit at position `i` of this layer. */
  async filter(i: number): Promise<Uint8Array> {
    const ends = await this.bytes(this.bidxStart + (i > 0 ? i - 1 : 0) * 4, this.bidxStart + (i + 1) * 4);
    const view = new DataView(ends.buffer, ends.byteOffset, ends.length);
    const start = i > 0 ? view.getUint32(0) : 0;
    const end = view.getUint32(i > 0 ? 4 : 0);
    if (end <= start) return new Uint8Array(0);
    return this.bytes(this.bdatStart + start, this.bdatStart + end);
  }
}

/** The layers of one repository, lowest (oldest commits) first. */
export class PersistedGraph {
  readonly count: number;
  constructor(readonly layers: GraphLayer[]) {
    let base = 0;
    for (const l of layers) {
      if (l.base !== base) throw corruptPack("commit-graph layers do not follow each other");
      base += l.count;
    }
    this.count = base;
  }

  /** Global position of a commit, or -1 when the graph does not hold it (yet). */
  async find(oid: Oid): Promise<number> {
    for (let k = this.layers.length - 1; k >= 0; k--) {
      const i = await this.layers[k]!.find(oid);
      if (i >= 0) return this.layers[k]!.base + i;
    }
    return -1;
  }

  private layerOf(pos: number): GraphLayer {
    for (let k = this.layers.length - 1; k >= 0; k--) {
      const l = this.layers[k]!;
      if (pos >= l.base) return l;
    }
    throw corruptPack("commit-graph position out of range");
  }

  async commit(pos: number): Promise<GraphCommit> {
    const l = this.layerOf(pos);
    return l.commit(pos - l.base);
  }

  async filter(pos: number): Promise<Uint8Array> {
    const l = this.layerOf(pos);
    return l.filter(pos - l.base);
  }

  async parents(pos: number): Promise<number[]> {
    const l = this.layerOf(pos);
    return l.parents(pos - l.base);
  }

  async links(pos: number): Promise<CommitLinks> {
    const l = this.layerOf(pos);
    return l.linksNow(pos - l.base) ?? l.links(pos - l.base);
  }

  async oid(pos: number): Promise<Oid> {
    const l = this.layerOf(pos);
    return l.oid(pos - l.base);
  }

  /** Links when at hand (see GraphLayer.linksNow), else null: call `links`. */
  linksNow(pos: number): CommitLinks | null {
    const l = this.layerOf(pos);
    return l.linksNow(pos - l.base);
  }

  filterNow(pos: number): Uint8Array | null {
    const l = this.layerOf(pos);
    return l.filterNow(pos - l.base);
  }

  filterMayContainNow(pos: number, keys: BloomKey[]): boolean | null {
    const l = this.layerOf(pos);
    return l.filterMayContainNow(pos - l.base, keys);
  }

  firstParentNow(pos: number): number | null {
    const l = this.layerOf(pos);
    return l.firstParentNow(pos - l.base);
  }

  /**
   * Every commit reachable from `starts` (global positions), one bit per position of the graph
   * (bit p at byte p >> 3): a walk of parent positions only, no id decoded. Null past `maxSteps`
   * commits.
   */
  async reachableFrom(starts: number[], maxSteps = Infinity): Promise<Uint8Array | null> {
    const bits = new Uint8Array((this.count + 7) >> 3);
    const stack = [...starts];
    let steps = 0;
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (bits[p >> 3]! & (1 << (p & 7))) continue;
      bits[p >> 3]! |= 1 << (p & 7);
      if (++steps > maxSteps) return null;
      // Cached pages never wait: let the isolate's other requests in now and then.
      const turn = graphStep(steps);
      if (turn) await turn;
      const links = this.linksNow(p) ?? (await this.links(p));
      for (const q of links.parents) if (!(bits[q >> 3]! & (1 << (q & 7)))) stack.push(q);
    }
    return bits;
  }
}
