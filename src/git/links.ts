// What an object points at (a commit's tree and parents, a tree's entries, a tag's object), read
// straight into a set of ids (spill runs, git/spill.ts, or an OidSet): how a received pack is
// checked for connectivity without walking it.
import type { ObjectType } from "./oid";
import { hexToBytes } from "./oid";

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
    // Header lines up to the first empty line: "tree <hex>", "parent <hex>", "object <hex>".
    let p = 0;
    while (p < data.length && data[p] !== NL) {
      const lineEnd = data.indexOf(NL, p);
      const end = lineEnd < 0 ? data.length : lineEnd;
      const sp = data.indexOf(SP, p);
      if (sp > p && sp < end && end - sp - 1 === 40) {
        const key = String.fromCharCode(...data.subarray(p, sp));
        if (key === "tree" || key === "parent" || key === "object") {
          into.add(hexToBytes(String.fromCharCode(...data.subarray(sp + 1, end))));
        }
      }
      p = end + 1;
    }
  }
}
