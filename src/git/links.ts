// What an object points at (a commit's tree and parents, a tree's entries, a tag's object), read
// straight into a set of ids (spill runs, git/spill.ts, or an OidSet): how a received pack is
// checked for connectivity without walking it.
import type { ObjectType } from "./oid";

const SP = 0x20;
const NL = 0x0a;

/** Takes 20-byte ids: spill runs and OidSet both do. */
export interface LinkSink {
  add(bytes: Uint8Array, at?: number): unknown;
}

/** Adds the ids `data` (an object of `type`) refers to. Submodule commits (gitlinks) are skipped. */
export function collectLinks(type: ObjectType, data: Uint8Array, into: LinkSink): void {
  if (type === "tree") {
    let p = 0;
    while (p < data.length) {
      // "<mode> <name>\0<20-byte id>"; gitlink mode is 160000.
      const gitlink = data[p] === 0x31 && data[p + 1] === 0x36;
      while (p < data.length && data[p] !== 0) p++;
      if (p + 21 > data.length) return;
      if (!gitlink) into.add(data, p + 1);
      p += 21;
    }
    return;
  }
  if (type === "commit" || type === "tag") {
    // Header lines up to the first empty line: "tree <hex>", "parent <hex>", "object <hex>",
    // matched and decoded as bytes (no string per commit: an import reads every one).
    let p = 0;
    while (p < data.length && data[p] !== NL) {
      const lineEnd = data.indexOf(NL, p);
      const end = lineEnd < 0 ? data.length : lineEnd;
      const sp = data.indexOf(SP, p);
      if (sp > p && sp < end && end - sp - 1 === 40 && isLinkKey(data, p, sp)) {
        into.add(hexLineInto(data, sp + 1, idBytes));
      }
      p = end + 1;
    }
  }
}

/** One id decoded at a time: sinks copy what they are given. */
const idBytes = new Uint8Array(20);
const KEYS = ["tree", "parent", "object"].map((k) => Uint8Array.from(k, (c) => c.charCodeAt(0)));

function isLinkKey(data: Uint8Array, start: number, end: number): boolean {
  next: for (const key of KEYS) {
    if (key.length !== end - start) continue;
    for (let i = 0; i < key.length; i++) if (data[start + i] !== key[i]) continue next;
    return true;
  }
  return false;
}

/** Nibble of a hex digit's code (0 for anything else, as hexInto: such an id is then missing). */
const nibble = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : 0;

/** Decodes the 40 hex digits at data[at..] into out. */
function hexLineInto(data: Uint8Array, at: number, out: Uint8Array): Uint8Array {
  for (let i = 0; i < 20; i++) out[i] = (nibble(data[at + 2 * i]!) << 4) | nibble(data[at + 2 * i + 1]!);
  return out;
}
