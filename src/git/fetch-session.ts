// One fetch of git-upload-pack, whatever the protocol version: the request's arguments, the wants
// resolved against the refs, negotiation of common commits, shallow boundaries, and the pack sent.
import { CommitGraph } from "./commit-graph";
import { GitError, protocolError } from "./errors";
import { canGiveUp, isReachable } from "./negotiate";
import type { ObjectStore } from "./object-store";
import { OID_HEX, setHash, type Oid } from "./oid";
import { MAX_BAND_PAYLOAD, type PktResponse } from "./pkt-line";
import { writePack, type PackWriteStats } from "./pack-writer";
import { planShallow, type DeepenRequest } from "./shallow";
import { enumerateObjects, parseFilter, type ObjectFilter } from "./walk";
import type { RangeSource } from "./range-source";
import { sendStoredPack } from "./stored-pack";
import { logInfo } from "../utils/info-line";

const encoder = new TextEncoder();
/** Commits read by a fetch's walk from which it logs a line. */
const LOGGED_WALK_COMMITS = 1000;

export interface Ref {
  name: string;
  oid: Oid;
  /** For annotated tags: the object the tag finally points at. */
  peeled?: Oid;
}

export interface RepoView {
  /** The ref HEAD points at, whether or not it exists. */
  head: string;
  refs: Ref[];
  /** The objects, opened on first need (ref advertisements and full clones never need them). */
  store: () => Promise<ObjectStore>;
  /**
   * The history over that store: with the repository's persisted commit-graph attached, walks
   * read commits from it and order them by generation number, not only by date.
   */
  commitGraph?: (store: ObjectStore) => CommitGraph;
  /**
   * A stored pack that holds exactly the objects reachable from the tips hashed in `closure`
   * (setHash): a clone of exactly those tips can send it as is.
   */
  completePack?: { source: RangeSource; objects: number; closure: string };
}

export type Sideband = "none" | "side-band" | "side-band-64k";

export interface FetchArgs {
  wants: Oid[];
  wantRefs: string[];
  haves: Oid[];
  done: boolean;
  thin: boolean;
  ofsDelta: boolean;
  noProgress: boolean;
  includeTag: boolean;
  shallow: Oid[];
  deepen: number;
  deepenRelative: boolean;
  deepenSince: number | null;
  deepenNot: string[];
  filter: ObjectFilter | null;
  waitForDone: boolean;
  sideband: Sideband;
  multiAck: "none" | "multi_ack" | "multi_ack_detailed";
  noDone: boolean;
}

export const emptyArgs = (): FetchArgs => ({
  wants: [],
  wantRefs: [],
  haves: [],
  done: false,
  thin: false,
  ofsDelta: false,
  noProgress: false,
  includeTag: false,
  shallow: [],
  deepen: 0,
  deepenRelative: false,
  deepenSince: null,
  deepenNot: [],
  filter: null,
  waitForDone: false,
  sideband: "side-band-64k",
  multiAck: "none",
  noDone: false,
});

export function oidArg(line: string, prefix: string): Oid {
  const oid = line.slice(prefix.length, prefix.length + 40);
  if (!OID_HEX.test(oid)) throw protocolError(`expected an object id in "${line}"`);
  return oid;
}

/** Parses the lines shared by v0 and v2 fetch requests; returns false for lines it does not know. */
export function parseFetchLine(args: FetchArgs, line: string): boolean {
  if (line.startsWith("want ")) args.wants.push(oidArg(line, "want "));
  else if (line.startsWith("have ")) args.haves.push(oidArg(line, "have "));
  else if (line.startsWith("shallow ")) args.shallow.push(oidArg(line, "shallow "));
  else if (line.startsWith("deepen ")) {
    const depth = Number(line.slice(7));
    if (!Number.isInteger(depth) || depth <= 0) throw protocolError(`invalid deepen: ${line}`);
    args.deepen = depth;
  } else if (line.startsWith("deepen-since ")) {
    const since = Number(line.slice(13));
    if (!Number.isInteger(since) || since <= 0) throw protocolError(`invalid deepen-since: ${line}`);
    args.deepenSince = since;
  } else if (line.startsWith("deepen-not ")) args.deepenNot.push(line.slice(11));
  else if (line.startsWith("filter ")) args.filter = parseFilter(line.slice(7));
  else if (line === "deepen-relative") args.deepenRelative = true;
  else if (line === "done") args.done = true;
  else if (line === "thin-pack") args.thin = true;
  else if (line === "ofs-delta") args.ofsDelta = true;
  else if (line === "no-progress") args.noProgress = true;
  else if (line === "include-tag") args.includeTag = true;
  else return false;
  return true;
}

/** A fetch in progress: resolves wants, negotiates, plans shallow boundaries and sends the pack. */
export class FetchSession {
  private opened: Promise<{ store: ObjectStore; graph: CommitGraph }> | null = null;
  private wantCommits: Oid[] | null = null;

  constructor(
    readonly view: RepoView,
    readonly args: FetchArgs,
  ) {}

  private objects(): Promise<{ store: ObjectStore; graph: CommitGraph }> {
    this.opened ??= this.view
      .store()
      .then((store) => ({ store, graph: this.view.commitGraph?.(store) ?? new CommitGraph(store) }));
    return this.opened;
  }

  async store(): Promise<ObjectStore> {
    return (await this.objects()).store;
  }

  async graph(): Promise<CommitGraph> {
    return (await this.objects()).graph;
  }

  /** Refuses wants the repository does not offer: absent objects, commits no ref reaches. */
  async checkWants(): Promise<void> {
    const tips = new Set<Oid>();
    for (const r of this.view.refs) {
      tips.add(r.oid);
      if (r.peeled) tips.add(r.peeled);
    }
    const tipList = [...tips];
    for (const want of this.args.wants) {
      if (tips.has(want)) continue;
      const store = await this.store();
      if (!(await store.has(want))) throw new GitError("not_our_ref", `upload-pack: not our ref ${want}`);
      const info = await store.info(want);
      if (info.type === "commit" && !(await isReachable(await this.graph(), want, tipList))) {
        throw new GitError("not_our_ref", `upload-pack: not our ref ${want}`);
      }
    }
  }

  async commitsOfWants(): Promise<Oid[]> {
    if (!this.wantCommits) {
      const out: Oid[] = [];
      const graph = await this.graph();
      for (const w of this.args.wants) {
        const p = await graph.peel(w);
        if (p.type === "commit") out.push(p.oid);
      }
      this.wantCommits = out;
    }
    return this.wantCommits;
  }

  /** Haves this repository has too. */
  async commonHaves(): Promise<Oid[]> {
    if (this.args.haves.length === 0) return [];
    const store = await this.store();
    return store.filterPresent([...new Set(this.args.haves)]);
  }

  async readyToSend(common: Oid[]): Promise<boolean> {
    return canGiveUp(await this.graph(), await this.commitsOfWants(), common);
  }

  deepenRequest(): DeepenRequest | null {
    const a = this.args;
    if (!a.deepen && a.deepenSince === null && a.deepenNot.length === 0) return null;
    if (a.deepen && (a.deepenSince !== null || a.deepenNot.length)) {
      throw protocolError("deepen and deepen-since (or deepen-not) cannot be used together");
    }
    const not: Oid[] = [];
    for (const name of a.deepenNot) {
      const ref = this.view.refs.find(
        (r) => r.name === name || r.name === `refs/heads/${name}` || r.name === `refs/tags/${name}`,
      );
      if (!ref) throw protocolError(`deepen-not: ${name} is not a ref`);
      not.push(ref.peeled ?? ref.oid);
    }
    return { depth: a.deepen, relative: a.deepenRelative, since: a.deepenSince, not };
  }

  async shallowPlan() {
    const deepen = this.deepenRequest();
    if (!deepen && this.args.shallow.length === 0) return { shallow: [], unshallow: [], boundary: new Set<Oid>() };
    const store = await this.store();
    const clientShallow = new Set(await store.filterPresent(this.args.shallow));
    return planShallow(await this.graph(), await this.commitsOfWants(), clientShallow, deepen);
  }

  /** True when the stored complete pack is exactly what this request asks for. */
  private canSendCompletePack(): RepoView["completePack"] | null {
    const complete = this.view.completePack;
    const a = this.args;
    if (!complete || !a.ofsDelta || a.haves.length || a.shallow.length || this.deepenRequest() || a.filter) return null;
    return setHash(a.wants) === complete.closure ? complete : null;
  }

  /** Streams the pack on band 1 (or bare), with progress on band 2 unless asked not to. */
  async sendPack(
    out: PktResponse,
    sideband: Sideband,
    plan: { boundary: Set<Oid>; unshallow: Oid[] },
  ): Promise<PackWriteStats | null> {
    const max = sideband === "side-band" ? 999 - 5 : MAX_BAND_PAYLOAD;
    const data = async (chunk: Uint8Array) => {
      if (sideband === "none") return out.write(chunk);
      // One write of many packets: every chunk costs work along the response path.
      await out.band(1, chunk, max);
    };
    const progress =
      sideband === "none" || this.args.noProgress ? undefined : (message: string) => out.band(2, encoder.encode(message));

    const complete = this.canSendCompletePack();
    if (complete) {
      await progress?.(`Sending the stored pack: ${complete.objects} objects, done.\n`);
      if (sideband !== "none") out.sidebandStarted = true;
      await sendStoredPack(complete.source, (chunk) => out.write(chunk), sideband === "none" ? null : max);
      return null;
    }

    const store = await this.store();
    const graph = await this.graph();
    const wants = [...this.args.wants];
    const haves = await this.commonHaves();
    for (const u of plan.unshallow) {
      const c = await graph.commit(u);
      wants.push(...(await store.filterPresent(c.parents)));
      haves.push(u);
    }
    let includeTags: Map<Oid, Oid[]> | undefined;
    if (this.args.includeTag) {
      includeTags = new Map();
      for (const r of this.view.refs) {
        if (r.name.startsWith("refs/tags/") && r.peeled && r.peeled !== r.oid) includeTags.set(r.oid, [r.oid, r.peeled]);
      }
    }
    // Unshallowed commits are haves whose parents are wanted: like git, treat them as shallow
    // (parentless) on the have side so their history is not marked as the client's.
    const walk = await enumerateObjects(graph, {
      wants,
      haves,
      shallow: new Set([...plan.boundary, ...plan.unshallow]),
      filter: this.args.filter ?? undefined,
      includeTags,
    });
    // A fetch (not a clone) whose walk read many commits is worth a line: whether the commit-graph
    // was there says why (bench:scale's one-commit fetch read 48,540 without it).
    if (haves.length > 0 && graph.reads.graph + graph.reads.objects >= LOGGED_WALK_COMMITS) {
      const line = { sent: walk.commits, haves: haves.length, read: graph.reads, graph: (await graph.persistedGraph()) !== null };
      logInfo("fetch walk", line);
    }
    await progress?.(`Enumerating objects: ${walk.objects.size}, done.\n`);
    const stats = await writePack(
      store,
      walk.objects,
      { ofsDelta: this.args.ofsDelta, thin: this.args.thin, clientHas: walk.clientHas, deltaBases: walk.deltaBases, progress },
      data,
    );
    await progress?.(
      `Total ${stats.objects} (delta ${stats.reusedDeltas + stats.deltified}), reused ${stats.reused + stats.reusedDeltas} (delta ${stats.reusedDeltas}), new deltas ${stats.deltified}, rebuilt ${stats.rebuilt}\n`,
    );
    return stats;
  }
}
