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

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >>> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

export const oidAt = (bytes: Uint8Array, offset: number): Oid => bytesToHex(bytes, offset, offset + 20);

export type ObjectType = "commit" | "tree" | "blob" | "tag";

const encoder = new TextEncoder();

/** The id of an object: SHA-1 of "<type> <size>\0" followed by its content. */
export function hashObject(type: ObjectType, data: Uint8Array): Oid {
  return createHash("sha1").update(encoder.encode(`${type} ${data.length}\0`)).update(data).digest("hex");
}

/** An incremental SHA-1 (packs, streamed objects). */
export const sha1 = () => createHash("sha1");

/** Identifies a set of objects (e.g. the ref tips a pack is the closure of) by one hash. */
export function setHash(oids: Iterable<Oid>): string {
  return sha1().update([...new Set(oids)].sort().join("\n")).digest("hex");
}
