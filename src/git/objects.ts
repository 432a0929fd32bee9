// Parsers of commit, tag and tree objects (only what the server needs; bounded inputs).
import { corruptPack } from "./errors";
import { bytesToHex, type Oid } from "./oid";

const decoder = new TextDecoder();

export interface Signature {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  time: number;
  /** Timezone as written, e.g. "+0200". */
  tz: string;
}

export interface Commit {
  tree: Oid;
  parents: Oid[];
  author: Signature;
  committer: Signature;
  message: string;
}

export interface Tag {
  object: Oid;
  type: string;
  tag: string;
  tagger: Signature | null;
  message: string;
}

function parseSignature(s: string): Signature {
  const m = /^(.*?) ?<([^>]*)> (-?\d+) ([+-]\d{4})$/.exec(s);
  if (!m) return { name: s, email: "", time: 0, tz: "+0000" };
  return { name: m[1]!, email: m[2]!, time: Number(m[3]), tz: m[4]! };
}

function headersAndMessage(data: Uint8Array): { headers: [string, string][]; message: string } {
  const text = decoder.decode(data);
  const split = text.indexOf("\n\n");
  const head = split < 0 ? text : text.slice(0, split);
  const headers: [string, string][] = [];
  for (const line of head.split("\n")) {
    if (line.startsWith(" ") && headers.length) {
      headers[headers.length - 1]![1] += `\n${line.slice(1)}`;
      continue;
    }
    const sp = line.indexOf(" ");
    headers.push(sp < 0 ? [line, ""] : [line.slice(0, sp), line.slice(sp + 1)]);
  }
  return { headers, message: split < 0 ? "" : text.slice(split + 2) };
}

export function parseCommit(data: Uint8Array): Commit {
  const { headers, message } = headersAndMessage(data);
  let tree: Oid | null = null;
  const parents: Oid[] = [];
  let author: Signature | null = null;
  let committer: Signature | null = null;
  for (const [k, v] of headers) {
    if (k === "tree") tree = v;
    else if (k === "parent") parents.push(v);
    else if (k === "author") author = parseSignature(v);
    else if (k === "committer") committer = parseSignature(v);
  }
  if (!tree) throw corruptPack("commit without a tree");
  const none = { name: "", email: "", time: 0, tz: "+0000" };
  return { tree, parents, author: author ?? none, committer: committer ?? author ?? none, message };
}

/** Just the tree, parents and committer time: what history walks need, without decoding the message. */
const TREE = bytesOf("tree ");
const PARENT = bytesOf("parent ");
const COMMITTER = bytesOf("committer ");

function bytesOf(ascii: string): Uint8Array {
  return Uint8Array.from(ascii, (c) => c.charCodeAt(0));
}

function startsWith(data: Uint8Array, at: number, prefix: Uint8Array): boolean {
  if (at + prefix.length > data.length) return false;
  for (let i = 0; i < prefix.length; i++) if (data[at + i] !== prefix[i]) return false;
  return true;
}

/**
 * The tree, parents and committer time, read from the header's bytes: each id decoded on its own
 * (40 bytes, a string of its own). Sliced out of the decoded header, every id kept the whole
 * header string alive (a V8 sliced string): a compaction's walk of git/git's 70,000 commits held
 * about 17 MiB of headers that way.
 */
export function parseCommitLinks(data: Uint8Array): { tree: Oid; parents: Oid[]; time: number } {
  let tree: Oid | null = null;
  const parents: Oid[] = [];
  let time = 0;
  // Headers go up to the first blank line.
  for (let pos = 0; pos < data.length; ) {
    let eol = data.indexOf(10, pos);
    if (eol < 0) eol = data.length;
    if (eol === pos) break;
    if (startsWith(data, pos, TREE)) tree = decoder.decode(data.subarray(pos + 5, Math.min(eol, pos + 45)));
    else if (startsWith(data, pos, PARENT)) parents.push(decoder.decode(data.subarray(pos + 7, Math.min(eol, pos + 47))));
    else if (startsWith(data, pos, COMMITTER)) {
      // "... <email> 1700000000 +0100": only the part after the email is decoded.
      const gt = data.subarray(pos, eol).lastIndexOf(62);
      const m = gt >= 0 ? /^> (-?\d+) [+-]\d{4}$/.exec(decoder.decode(data.subarray(pos + gt, eol))) : null;
      if (m) time = Number(m[1]);
    }
    pos = eol + 1;
  }
  if (!tree) throw corruptPack("commit without a tree");
  return { tree, parents, time };
}

export function parseTag(data: Uint8Array): Tag {
  const { headers, message } = headersAndMessage(data);
  const get = (k: string) => headers.find(([h]) => h === k)?.[1];
  const object = get("object");
  if (!object) throw corruptPack("tag without an object");
  const tagger = get("tagger");
  return {
    object,
    type: get("type") ?? "commit",
    tag: get("tag") ?? "",
    tagger: tagger ? parseSignature(tagger) : null,
    message,
  };
}

export const isTreeMode = (mode: string) => mode === "40000" || mode === "040000";
export const isSubmoduleMode = (mode: string) => mode === "160000";

/** Calls `fn(mode, nameBytesStart, nameBytesEnd, oid)` for each entry, without decoding names. */
/** Kind of a tree entry by its mode's bytes [start, end), as isTreeMode / isSubmoduleMode read the string. */
function entryKind(data: Uint8Array, start: number, end: number): "tree" | "commit" | "blob" {
  const n = end - start;
  if (n === MODE_TREE.length && modeIs(data, start, MODE_TREE)) return "tree";
  if (n === MODE_TREE_PADDED.length && modeIs(data, start, MODE_TREE_PADDED)) return "tree";
  if (n === MODE_SUBMODULE.length && modeIs(data, start, MODE_SUBMODULE)) return "commit";
  return "blob";
}

const MODE_TREE = new TextEncoder().encode("40000");
const MODE_TREE_PADDED = new TextEncoder().encode("040000");
const MODE_SUBMODULE = new TextEncoder().encode("160000");

/** Whether data holds `mode` at `start`: compared in place (a closure an entry was a walk's garbage). */
function modeIs(data: Uint8Array, start: number, mode: Uint8Array): boolean {
  for (let i = 0; i < mode.length; i++) if (data[start + i] !== mode[i]) return false;
  return true;
}

/**
 * Each entry's kind and where its raw 20-byte id starts in `data`, making no string: an object
 * walk meets most entries again in the next version of their tree, and asks its raw-id set first.
 */
export function forEachTreeEntryAt(data: Uint8Array, fn: (kind: "tree" | "commit" | "blob", idAt: number) => void): void {
  scanTreeEntries(data, (start, space, nul) => fn(entryKind(data, start, space), nul + 1));
}

/** Each entry's bounds: where it starts, the space after its mode, the NUL after its name. */
function scanTreeEntries(data: Uint8Array, fn: (start: number, space: number, nul: number) => void): void {
  let p = 0;
  while (p < data.length) {
    let sp = p;
    while (sp < data.length && data[sp] !== 0x20) sp++;
    let nul = sp + 1;
    while (nul < data.length && data[nul] !== 0) nul++;
    if (nul + 21 > data.length) throw corruptPack("truncated tree entry");
    fn(p, sp, nul);
    p = nul + 21;
  }
}

export function forEachTreeEntry(
  data: Uint8Array,
  fn: (mode: string, oid: Oid, nameStart: number, nameEnd: number) => void,
): void {
  scanTreeEntries(data, (start, space, nul) => {
    let mode = "";
    for (let i = start; i < space; i++) mode += String.fromCharCode(data[i]!);
    fn(mode, bytesToHex(data, nul + 1, nul + 21), space + 1, nul);
  });
}
