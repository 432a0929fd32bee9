// Object ids (SHA-1, 40 lowercase hex digits) and object hashing.
import { createHash } from "node:crypto";
import { sha1 as jsSha1 } from "@noble/hashes/legacy.js";

export type Oid = string;

export const OID_HEX = /^[0-9a-f]{40}$/;
export const ZERO_OID: Oid = "0".repeat(40);

const hexTable = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

const HEX_CODES = [..."0123456789abcdef"].map((c) => c.charCodeAt(0));
const idCodes = new Array<number>(40).fill(0);

/**
 * An id (20 bytes) is made as one string: appended a byte at a time it was 20 strings and a
 * flattened copy, garbage for every id a walk meets (hundreds of thousands in a compaction).
 */
export function bytesToHex(bytes: Uint8Array, start = 0, end = bytes.length): string {
  if (end - start !== 20) {
    let s = "";
    for (let i = start; i < end; i++) s += hexTable[bytes[i]!];
    return s;
  }
  for (let i = 0; i < 20; i++) {
    const b = bytes[start + i]!;
    idCodes[2 * i] = HEX_CODES[b >> 4]!;
    idCodes[2 * i + 1] = HEX_CODES[b & 15]!;
  }
  return String.fromCharCode.apply(null, idCodes);
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

const TYPE_BYTES: Record<ObjectType, Uint8Array> = {
  commit: encoder.encode("commit "),
  tree: encoder.encode("tree "),
  blob: encoder.encode("blob "),
  tag: encoder.encode("tag "),
};

/** Objects this large are hashed by the native SHA-1 (its set-up per object costs less than its speed gains). */
export const NATIVE_HASH_OVER = 64 * 1024;

/**
 * Object ids of many objects one after another, each into the same 20 bytes: no object, string or
 * array buffer per object. workerd's `createHash` makes a stream (a Transform and its two states)
 * around a native handle per call, and `digest("hex")` a buffer and a string: on a 900,000-object
 * import that was most of the indexer's garbage, which the isolate's heap peak counts. A pure-JS
 * SHA-1 state is reset from a pristine copy instead of made anew. Objects of NATIVE_HASH_OVER bytes
 * or more are few and hashed natively: the JS SHA-1 took 60 to 80 ms of CPU for 8 MiB against 6 ms,
 * in one slice of the indexer's (bench/scale-results.md, session 13, s13-uploads).
 */
export class ObjectHasher {
  private readonly pristine = jsSha1.create();
  private readonly state = jsSha1.create();
  /** The native hash of the object under way when it is large (null: the JS state hashes it). */
  private native: ReturnType<typeof createHash> | null = null;
  private readonly head = new Uint8Array(32);
  /** The last id computed: valid until the next `finish` or `hash`. */
  readonly id = new Uint8Array(20);

  /** Starts the id of an object of `type` and `size` bytes: its "<type> <size>\0" header. */
  start(type: ObjectType, size: number): this {
    const name = TYPE_BYTES[type];
    this.head.set(name);
    let at = name.length;
    let digits = 1;
    for (let n = size; n >= 10; n = Math.floor(n / 10)) digits++;
    for (let i = digits - 1, n = size; i >= 0; i--, n = Math.floor(n / 10)) this.head[at + i] = 48 + (n % 10);
    at += digits;
    this.head[at++] = 0;
    if (size >= NATIVE_HASH_OVER) {
      this.native = createHash("sha1").update(this.head.subarray(0, at));
      return this;
    }
    this.native = null;
    this.pristine._cloneInto(this.state);
    this.state.update(this.head.subarray(0, at));
    return this;
  }

  update(piece: Uint8Array): this {
    if (this.native) this.native.update(piece);
    else this.state.update(piece);
    return this;
  }

  /** The id of what was hashed since `start`, in `this.id`. */
  finish(): Uint8Array {
    if (this.native) {
      this.id.set(this.native.digest());
      this.native = null;
    } else this.state.digestInto(this.id);
    return this.id;
  }

  /** The id of the object of `type` whose content is `data`, in `this.id`. */
  hash(type: ObjectType, data: Uint8Array): Uint8Array {
    return this.start(type, data.length).update(data).finish();
  }
}

/** An incremental SHA-1 (packs, streamed objects). */
export const sha1 = () => createHash("sha1");

/** Identifies a set of objects (e.g. the ref tips a pack is the closure of) by one hash. */
export function setHash(oids: Iterable<Oid>): string {
  return sha1()
    .update([...new Set(oids)].sort().join("\n"))
    .digest("hex");
}
