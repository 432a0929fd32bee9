// Object ids (SHA-1, 40 lowercase hex digits) and object hashing.
import { createHash } from "node:crypto";

export type Oid = string;

export const OID_HEX = /^[0-9a-f]{40}$/;
export const ZERO_OID: Oid = "0".repeat(40);

const hexTable = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function bytesToHex(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = "";
  for (let i = start; i < end; i++) s += hexTable[bytes[i]!];
  return s;
}

/** Nibble value of each character code ("0"-"9", "a"-"f", "A"-"F"; 0 for anything else). */
const NIBBLE = new Uint8Array(128);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) NIBBLE[97 + i] = NIBBLE[65 + i] = 10 + i;

/** Writes the bytes of a hex string into `out` (which must be long enough); returns `out`. */
export function hexInto(hex: string, out: Uint8Array): Uint8Array {
  const n = hex.length >>> 1;
  for (let i = 0; i < n; i++) out[i] = (NIBBLE[hex.charCodeAt(2 * i) & 127]! << 4) | NIBBLE[hex.charCodeAt(2 * i + 1) & 127]!;
  return out;
}

export function hexToBytes(hex: string): Uint8Array {
  return hexInto(hex, new Uint8Array(hex.length >>> 1));
}

export const oidAt = (bytes: Uint8Array, offset: number): Oid => bytesToHex(bytes, offset, offset + 20);

export type ObjectType = "commit" | "tree" | "blob" | "tag";

const encoder = new TextEncoder();

/** What an object's id hashes before its content: "<type> <size>\0". */
export const objectHeader = (type: ObjectType, size: number): Uint8Array => encoder.encode(`${type} ${size}\0`);

/** The id of an object: SHA-1 of "<type> <size>\0" followed by its content. */
export function hashObject(type: ObjectType, data: Uint8Array): Oid {
  return createHash("sha1").update(objectHeader(type, data.length)).update(data).digest("hex");
}

/** An incremental SHA-1 (packs, streamed objects). */
export const sha1 = () => createHash("sha1");

/** Identifies a set of objects (e.g. the ref tips a pack is the closure of) by one hash. */
export function setHash(oids: Iterable<Oid>): string {
  return sha1()
    .update([...new Set(oids)].sort().join("\n"))
    .digest("hex");
}
