// The packfile format (gitformat-pack): header, entry headers, offset deltas.
import { corruptPack } from "./errors";
import type { ObjectType } from "./oid";
import { bytesToHex } from "./oid";

export const OBJ_COMMIT = 1;
const OBJ_TREE = 2;
export const OBJ_BLOB = 3;
export const OBJ_TAG = 4;
export const OBJ_OFS_DELTA = 6;
export const OBJ_REF_DELTA = 7;

export type PackType = 1 | 2 | 3 | 4 | 6 | 7;

export const typeName = (t: number): ObjectType => {
  switch (t) {
    case OBJ_COMMIT:
      return "commit";
    case OBJ_TREE:
      return "tree";
    case OBJ_BLOB:
      return "blob";
    case OBJ_TAG:
      return "tag";
  }
  throw corruptPack(`object type ${t} is not a base type`);
};

export const typeNumber = (t: ObjectType): PackType =>
  t === "commit" ? OBJ_COMMIT : t === "tree" ? OBJ_TREE : t === "blob" ? OBJ_BLOB : OBJ_TAG;

export const PACK_HEADER_SIZE = 12;

export function parsePackHeader(b: Uint8Array): { version: number; count: number } {
  if (b.length < 12 || b[0] !== 0x50 || b[1] !== 0x41 || b[2] !== 0x43 || b[3] !== 0x4b) {
    throw corruptPack("not a pack (missing PACK signature)");
  }
  const view = new DataView(b.buffer, b.byteOffset, 12);
  const version = view.getUint32(4);
  if (version !== 2 && version !== 3) throw corruptPack(`unsupported pack version ${version}`);
  return { version, count: view.getUint32(8) };
}

export function packHeader(count: number): Uint8Array {
  const b = new Uint8Array(12);
  b.set([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2]);
  new DataView(b.buffer).setUint32(8, count);
  return b;
}

export interface EntryHeader {
  type: PackType;
  /** Size of the object (or of the delta data) once inflated. */
  size: number;
  /** Bytes taken by the header (and the delta base reference, if any). */
  headerLength: number;
  /** OFS_DELTA: absolute offset of the base in the same pack. */
  baseOffset?: number;
  /** REF_DELTA: id of the base. */
  baseOid?: string;
}

/**
 * Parses the entry header at `pos` (an object at pack offset `offset`). Returns null if `b` ends
 * before the header does.
 */
export function parseEntryHeader(b: Uint8Array, pos: number, offset: number): EntryHeader | null {
  let p = pos;
  if (p >= b.length) return null;
  let c = b[p++]!;
  const rawType = (c >> 4) & 7;
  let size = c & 15;
  let shift = 4;
  while (c & 0x80) {
    if (p >= b.length) return null;
    c = b[p++]!;
    if (shift > 49) throw corruptPack(`object size too large at offset ${offset}`);
    size += (c & 0x7f) * 2 ** shift;
    shift += 7;
  }
  if (rawType === 0 || rawType === 5) throw corruptPack(`unknown object type ${rawType} at offset ${offset}`);
  const type = rawType as PackType;
  if (type === OBJ_OFS_DELTA) {
    if (p >= b.length) return null;
    c = b[p++]!;
    let distance = c & 0x7f;
    while (c & 0x80) {
      if (p >= b.length) return null;
      c = b[p++]!;
      distance = (distance + 1) * 128 + (c & 0x7f);
    }
    if (distance <= 0 || distance > offset) throw corruptPack(`bad delta base offset at offset ${offset}`);
    return { type, size, headerLength: p - pos, baseOffset: offset - distance };
  }
  if (type === OBJ_REF_DELTA) {
    if (p + 20 > b.length) return null;
    const baseOid = bytesToHex(b, p, p + 20);
    return { type, size, headerLength: p + 20 - pos, baseOid };
  }
  return { type, size, headerLength: p - pos };
}

/** Type-and-size header of an entry (without any delta base reference). */
export function encodeEntryHeader(type: PackType, size: number): Uint8Array {
  const bytes: number[] = [];
  let c = (type << 4) | (size & 15);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(c | 0x80);
    c = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(c);
  return Uint8Array.from(bytes);
}

/** The OFS_DELTA base reference: distance back from this entry to its base. */
export function encodeOfsDistance(distance: number): Uint8Array {
  const bytes = [distance & 0x7f];
  let d = Math.floor(distance / 128);
  while (d > 0) {
    d -= 1;
    bytes.unshift(0x80 | (d & 0x7f));
    d = Math.floor(d / 128);
  }
  return Uint8Array.from(bytes);
}
