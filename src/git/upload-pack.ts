// git-upload-pack over stateless HTTP: the ref advertisement (protocol v0/v1), protocol v2
// (ls-refs, fetch, object-info), and v0/v1 fetch with multi_ack_detailed negotiation.
import { CommitGraph } from "./commit-graph";
import { GitError, protocolError } from "./errors";
import { canGiveUp, isReachable } from "./negotiate";
import type { ObjectStore } from "./object-store";
import { OID_HEX, setHash, ZERO_OID, type Oid } from "./oid";
import { FLUSH, MAX_BAND_PAYLOAD, parsePktLines, pkt, PktResponse } from "./pkt-line";
import { writePack, type PackWriteStats } from "./pack-writer";
import { planShallow, type DeepenRequest } from "./shallow";
import { enumerateObjects, parseFilter, type ObjectFilter } from "./walk";
import { readAhead, type RangeSource } from "./range-source";
import { concatBytes } from "../utils/bytes";

export const AGENT = "edgeforge/1";

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
   * A stored pack that holds exactly the objects reachable from the tips hashed in `closure`
   * (setHash): a clone of exactly those tips can send it as is.
   */
  completePack?: { source: RangeSource; objects: number; closure: string };
}

export type Sideband = "none" | "side-band" | "side-band-64k";

const V0_CAPABILITIES = [
  "multi_ack",
  "thin-pack",
  "side-band",
  "side-band-64k",
  "ofs-delta",
  "shallow",
  "deepen-since",
  "deepen-not",
  "deepen-relative",
  "no-progress",
  "include-tag",
  "multi_ack_detailed",
  "allow-tip-sha1-in-want",
  "allow-reachable-sha1-in-want",
  "no-done",
  "filter",
  "object-format=sha1",
];

const encoder = new TextEncoder();

function headOid(view: RepoView): Oid | null {
  return view.refs.find((r) => r.name === view.head)?.oid ?? null;
}

/** Body of GET info/refs?service=git-upload-pack for protocol v0 (and v1 with `version 1`). */
export function advertiseV0(view: RepoView, version: 0 | 1): Uint8Array {
  const parts = [pkt("# service=git-upload-pack\n"), FLUSH];
  if (version === 1) parts.push(pkt("version 1\n"));
  const head = headOid(view);
  const caps = [...V0_CAPABILITIES, ...(head ? [`symref=HEAD:${view.head}`] : []), `agent=${AGENT}`].join(" ");
  const lines: string[] = [];
  if (head) lines.push(`${head} HEAD`);
  for (const r of view.refs) {
    lines.push(`${r.oid} ${r.name}`);
    if (r.peeled && r.peeled !== r.oid) lines.push(`${r.peeled} ${r.name}^{}`);
  }
  if (lines.length === 0) lines.push(`${ZERO_OID} capabilities^{}`);
  lines.forEach((line, i) => {
    parts.push(pkt(i === 0 ? `${line}\0${caps}\n` : `${line}\n`));
  });
  parts.push(FLUSH);
  return concatBytes(parts);
}

/** Body of GET info/refs?service=git-upload-pack for protocol v2: the capability advertisement. */
export function advertiseV2(): Uint8Array {
  const caps = [
    "version 2",
    `agent=${AGENT}`,
    "ls-refs=unborn",
    "fetch=shallow wait-for-done filter ref-in-want",
    "server-option",
    "object-format=sha1",
    "object-info",
  ];
  return concatBytes([pkt("# service=git-upload-pack\n"), FLUSH, ...caps.map((c) => pkt(`${c}\n`)), FLUSH]);
}

interface FetchArgs {
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

const emptyArgs = (): FetchArgs => ({
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

function oidArg(line: string, prefix: string): Oid {
  const oid = line.slice(prefix.length, prefix.length + 40);
  if (!OID_HEX.test(oid)) throw protocolError(`expected an object id in "${line}"`);
  return oid;
}

/** Parses the lines shared by v0 and v2 fetch requests; returns false for lines it does not know. */
function parseFetchLine(args: FetchArgs, line: string): boolean {
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
class FetchSession {
  private opened: Promise<{ store: ObjectStore; graph: CommitGraph }> | null = null;
  private wantCommits: Oid[] | null = null;

  constructor(
    readonly view: RepoView,
    readonly args: FetchArgs,
  ) {}

  private objects(): Promise<{ store: ObjectStore; graph: CommitGraph }> {
    this.opened ??= this.view.store().then((store) => ({ store, graph: new CommitGraph(store) }));
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
      if (!store.has(want)) throw new GitError("not_our_ref", `upload-pack: not our ref ${want}`);
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
    return [...new Set(this.args.haves)].filter((h) => store.has(h));
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
    const clientShallow = new Set(this.args.shallow.filter((s) => store.has(s)));
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
      for await (const chunk of readAhead(complete.source, 0, complete.source.size)) await data(chunk);
      return null;
    }

    const store = await this.store();
    const graph = await this.graph();
    const wants = [...this.args.wants];
    const haves = await this.commonHaves();
    for (const u of plan.unshallow) {
      const c = await graph.commit(u);
      wants.push(...c.parents.filter((p) => store.has(p)));
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

/**
 * Runs `body` writing to a fresh response stream. Errors reach the client on git's error channel:
 * an ERR packet, or side band 3 once the pack has started on a side band.
 */
function respond(body: (out: PktResponse) => Promise<void>) {
  const out = new PktResponse();
  const errorChannel = (o: PktResponse, message: string) =>
    o.sidebandStarted ? o.band(3, encoder.encode(`${message}\n`)) : o.write(pkt(`ERR ${message}\n`));
  const done = (async () => {
    try {
      await body(out);
      await out.close();
    } catch (err) {
      const message = err instanceof GitError ? err.message : "internal error while serving the fetch";
      if (!(err instanceof GitError))
        console.error(JSON.stringify({ level: "error", message: String((err as Error)?.stack ?? err) }));
      try {
        await errorChannel(out, message);
        await out.close();
      } catch {
        await out.abort(err).catch(() => undefined);
      }
    }
  })();
  return { stream: out.stream, done };
}

export interface UploadPackResult {
  stream: ReadableStream<Uint8Array>;
  /** Settles when the response is fully written (for waitUntil and metering). */
  done: Promise<void>;
}

/** POST git-upload-pack, protocol v0/v1 (stateless RPC). */
export function uploadPackV0(view: RepoView, body: Uint8Array): UploadPackResult {
  const lines = parsePktLines(body);
  const args = emptyArgs();
  let sideband: Sideband = "none";
  let i = 0;
  // The want list, with capabilities on the first want, up to the first flush.
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.kind === "flush") {
      i++;
      break;
    }
    if (line.kind !== "data") throw protocolError("unexpected delimiter in the want list");
    let text = line.text;
    if (text.startsWith("want ") && args.wants.length === 0) {
      const caps = new Set(text.slice(46).split(" ").filter(Boolean));
      text = text.slice(0, 45);
      args.thin = caps.has("thin-pack");
      args.ofsDelta = caps.has("ofs-delta");
      args.noProgress = caps.has("no-progress");
      args.includeTag = caps.has("include-tag");
      args.deepenRelative = caps.has("deepen-relative");
      args.noDone = caps.has("no-done");
      args.multiAck = caps.has("multi_ack_detailed") ? "multi_ack_detailed" : caps.has("multi_ack") ? "multi_ack" : "none";
      sideband = caps.has("side-band-64k") ? "side-band-64k" : caps.has("side-band") ? "side-band" : "none";
    }
    if (!parseFetchLine(args, text) || text.startsWith("have ") || text === "done") {
      throw protocolError(`unexpected line in the want list: ${text}`);
    }
  }
  const session = new FetchSession(view, args);
  return respond(async (out) => {
    if (args.wants.length === 0) return;
    await session.checkWants();
    const plan = await session.shallowPlan();
    if (session.deepenRequest()) {
      for (const s of plan.shallow) await out.line(`shallow ${s}`);
      for (const u of plan.unshallow) await out.line(`unshallow ${u}`);
      await out.flush();
    }
    // Negotiation: haves, then a flush (another round follows) or done.
    let lastCommon: Oid | null = null;
    let gotCommon = false;
    let gotOther = false;
    let sentReady = false;
    const common: Oid[] = [];
    for (; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.kind === "flush") {
        if (args.multiAck === "multi_ack_detailed" && gotCommon && !gotOther && (await session.readyToSend(common))) {
          sentReady = true;
          await out.line(`ACK ${lastCommon} ready`);
        }
        if (common.length === 0 || args.multiAck !== "none") await out.line("NAK");
        if (args.noDone && sentReady) {
          await out.line(`ACK ${lastCommon}`);
          await session.sendPack(out, sideband, plan);
          if (sideband !== "none") await out.flush();
        }
        return; // stateless: the client sends the next round in a new request
      }
      if (line.kind !== "data") throw protocolError("unexpected delimiter in the have list");
      if (line.text.startsWith("have ")) {
        const oid = oidArg(line.text, "have ");
        if ((await session.store()).has(oid)) {
          gotCommon = true;
          lastCommon = oid;
          common.push(oid);
          if (args.multiAck === "multi_ack_detailed") await out.line(`ACK ${oid} common`);
          else if (args.multiAck === "multi_ack") await out.line(`ACK ${oid} continue`);
          else if (common.length === 1) await out.line(`ACK ${oid}`);
        } else {
          gotOther = true;
          if (args.multiAck !== "none" && common.length && (await session.readyToSend(common))) {
            sentReady = true;
            await out.line(args.multiAck === "multi_ack_detailed" ? `ACK ${oid} ready` : `ACK ${oid} continue`);
          }
        }
        continue;
      }
      if (line.text === "done") {
        if (common.length > 0) {
          if (args.multiAck !== "none") await out.line(`ACK ${lastCommon}`);
        } else {
          await out.line("NAK");
        }
        args.haves = common;
        await session.sendPack(out, sideband, plan);
        if (sideband !== "none") await out.flush();
        return;
      }
      throw protocolError(`expected have or done, got "${line.text}"`);
    }
  });
}

/** POST git-upload-pack, protocol v2: one command per request. */
export function uploadPackV2(view: RepoView, body: Uint8Array): UploadPackResult {
  const lines = parsePktLines(body);
  let i = 0;
  let command: string | null = null;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.kind === "delim" || line.kind === "flush") {
      i++;
      break;
    }
    if (line.kind !== "data") throw protocolError("unexpected packet in the capability list");
    if (line.text.startsWith("command=")) command = line.text.slice(8);
  }
  const commandArgs: string[] = [];
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.kind === "flush") break;
    if (line.kind === "data") commandArgs.push(line.text);
  }
  if (command === null) return respond(async () => undefined);
  if (command === "ls-refs") return respond((out) => lsRefs(view, commandArgs, out));
  if (command === "object-info") return respond((out) => objectInfo(view, commandArgs, out));
  if (command === "fetch") return fetchV2(view, commandArgs);
  return respond(async () => {
    throw protocolError(`unknown command '${command}'`);
  });
}

async function lsRefs(view: RepoView, args: string[], out: PktResponse): Promise<void> {
  const symrefs = args.includes("symrefs");
  const peel = args.includes("peel");
  const unborn = args.includes("unborn");
  const prefixes = args.filter((a) => a.startsWith("ref-prefix ")).map((a) => a.slice(11));
  const wanted = (name: string) => prefixes.length === 0 || prefixes.some((p) => name.startsWith(p));
  if (wanted("HEAD")) {
    const head = headOid(view);
    const target = symrefs ? ` symref-target:${view.head}` : "";
    if (head) await out.line(`${head} HEAD${target}`);
    else if (unborn) await out.line(`unborn HEAD${target}`);
  }
  for (const r of view.refs) {
    if (!wanted(r.name)) continue;
    const peeled = peel && r.peeled && r.peeled !== r.oid ? ` peeled:${r.peeled}` : "";
    await out.line(`${r.oid} ${r.name}${peeled}`);
  }
  await out.flush();
}

async function objectInfo(view: RepoView, args: string[], out: PktResponse): Promise<void> {
  const oids = args.filter((a) => a.startsWith("oid ")).map((a) => oidArg(a, "oid "));
  await out.line(args.includes("size") ? "size" : "");
  const store = oids.length ? await view.store() : null;
  for (const oid of oids) {
    const info = store?.has(oid) ? await store.info(oid) : null;
    await out.line(info ? `${oid} ${info.size}` : `${oid} `);
  }
  await out.flush();
}

function fetchV2(view: RepoView, lines: string[]): UploadPackResult {
  const args = emptyArgs();
  for (const line of lines) {
    if (parseFetchLine(args, line)) continue;
    if (line.startsWith("want-ref ")) args.wantRefs.push(line.slice(9));
    else if (line === "wait-for-done") args.waitForDone = true;
    else if (line === "sideband-all" || line.startsWith("packfile-uris ") || line.startsWith("server-option")) continue;
    else throw protocolError(`unexpected fetch argument "${line}"`);
  }
  const session = new FetchSession(view, args);
  return respond(async (out) => {
    const wantedRefs: Ref[] = [];
    for (const name of args.wantRefs) {
      const target = name === "HEAD" ? view.head : name;
      const ref = view.refs.find((r) => r.name === target);
      if (!ref) throw new GitError("not_our_ref", `unknown ref ${name}`);
      wantedRefs.push({ ...ref, name });
      args.wants.push(ref.oid);
    }
    await session.checkWants();
    if (!args.done) {
      const common = await session.commonHaves();
      const ready = !args.waitForDone && common.length > 0 && (await session.readyToSend(common));
      await out.line("acknowledgments");
      if (common.length === 0) await out.line("NAK");
      for (const c of common) await out.line(`ACK ${c}`);
      if (ready) await out.line("ready");
      if (!ready) return out.flush();
      await out.delim();
    }
    args.haves = await session.commonHaves();
    const plan = await session.shallowPlan();
    if (session.deepenRequest() || args.shallow.length) {
      await out.line("shallow-info");
      for (const s of plan.shallow) await out.line(`shallow ${s}`);
      for (const u of plan.unshallow) await out.line(`unshallow ${u}`);
      await out.delim();
    }
    if (wantedRefs.length) {
      await out.line("wanted-refs");
      for (const r of wantedRefs) await out.line(`${r.oid} ${r.name}`);
      await out.delim();
    }
    await out.line("packfile");
    await session.sendPack(out, "side-band-64k", plan);
    await out.flush();
  });
}
