// git-upload-pack over stateless HTTP: the ref advertisement (protocol v0/v1), protocol v2
// (ls-refs, fetch, object-info), and v0/v1 fetch with multi_ack_detailed negotiation (one fetch
// runs in fetch-session.ts).
import { GitError, protocolError } from "./errors";
import { ZERO_OID, type Oid } from "./oid";
import { FLUSH, parsePktLines, pkt, PktResponse } from "./pkt-line";
import { concatBytes } from "../utils/bytes";
import { emptyArgs, FetchSession, oidArg, parseFetchLine, type Ref, type RepoView, type Sideband } from "./fetch-session";

// Callers name the repository view and its refs through this module.
export type { Ref, RepoView, Sideband } from "./fetch-session";

export const AGENT = "edgeforge/1";

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
        if (await (await session.store()).has(oid)) {
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
    const info = store && (await store.has(oid)) ? await store.info(oid) : null;
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
