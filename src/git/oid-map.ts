// The objects a walk sends, each a raw 20-byte id and a type byte in typed arrays, in the order
// they were added: a clone or a compaction walks hundreds of thousands of objects, and a Map of
// hex strings costs about 200 bytes each (a 900k-object repository would not fit an isolate).
import { hexInto, oidAt, type ObjectType, type Oid } from "./oid";
import { idHash, sameId } from "./oid-set";

const TYPES: readonly ObjectType[] = ["commit", "tree", "blob", "tag"];
const TYPE_CODE: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };

/** What writePack reads of the objects to send: a Map<Oid, ObjectType> has this shape too. */
export interface ObjectsToSend {
  readonly size: number;
  has(oid: Oid): boolean;
  keys(): Iterable<Oid>;
}

export class OidTypeMap implements ObjectsToSend {
  /** Ids in insertion order, 20 bytes each. */
  private ids: Uint8Array;
  /** Type code of each id (1 commit, 2 tree, 3 blob, 4 tag). */
  private types: Uint8Array;
  /** Open addressing over the ids: slot holds index + 1, 0 when empty. */
  private table: Uint32Array;
  private count = 0;
  private readonly scratch = new Uint8Array(20);

  constructor(capacity = 1024) {
    this.ids = new Uint8Array(capacity * 20);
    this.types = new Uint8Array(capacity);
    this.table = new Uint32Array(tableSizeFor(capacity));
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the typed arrays (what the map weighs, whatever the count). */
  get byteLength(): number {
    return this.ids.byteLength + this.types.byteLength + this.table.byteLength;
  }

  has(oid: Oid): boolean {
    return this.table[this.slot(hexInto(oid, this.scratch), 0)] !== 0;
  }

  /** Whether the raw id at bytes[at, at + 20) is in the map (no hex string made). */
  hasAt(bytes: Uint8Array, at: number): boolean {
    return this.table[this.slot(bytes, at)] !== 0;
  }

  get(oid: Oid): ObjectType | undefined {
    const at = this.table[this.slot(hexInto(oid, this.scratch), 0)]!;
    return at === 0 ? undefined : TYPES[this.types[at - 1]! - 1];
  }

  /** The objects of any id list, in its order (their types are not needed: all are "blob"). */
  static from(oids: Iterable<Oid>): OidTypeMap {
    const map = new OidTypeMap();
    for (const oid of oids) map.set(oid, "blob");
    return map;
  }

  /** The place of `oid` in insertion order, or -1. */
  indexOf(oid: Oid): number {
    return this.table[this.slot(hexInto(oid, this.scratch), 0)]! - 1;
  }

  /** The id at place i, as hex (a new string) or as a view of its bytes (valid until the next add). */
  oidAt(i: number): Oid {
    return oidAt(this.ids, i * 20);
  }

  idAt(i: number): Uint8Array {
    return this.ids.subarray(i * 20, i * 20 + 20);
  }

  /** Every id in insertion order, 20 bytes each: a view of the map's own column (valid until the next add). */
  idColumn(): Uint8Array {
    return this.ids.subarray(0, this.count * 20);
  }

  /** Adds the object, or changes its type if present (its place in the order stays). */
  set(oid: Oid, type: ObjectType): this {
    const bytes = hexInto(oid, this.scratch);
    const slot = this.slot(bytes, 0);
    const at = this.table[slot]!;
    if (at !== 0) {
      this.types[at - 1] = TYPE_CODE[type];
      return this;
    }
    if (this.count === this.types.length) {
      this.grow();
      return this.set(oid, type);
    }
    this.ids.set(bytes, this.count * 20);
    this.types[this.count] = TYPE_CODE[type];
    this.count++;
    this.table[slot] = this.count;
    return this;
  }

  /**
   * Adds the raw id at bytes[at, at + 20) with its type when absent (no hex string made); whether
   * it was added. A tree walk adds each entry new to it this way.
   */
  addAt(bytes: Uint8Array, at: number, type: ObjectType): boolean {
    if (this.count === this.types.length) this.grow();
    const slot = this.slot(bytes, at);
    if (this.table[slot] !== 0) return false;
    // Byte by byte: a view to copy from would be an object an id.
    const to = this.count * 20;
    for (let i = 0; i < 20; i++) this.ids[to + i] = bytes[at + i]!;
    this.types[this.count] = TYPE_CODE[type];
    this.count++;
    this.table[slot] = this.count;
    return true;
  }

  /** Each id as hex, in insertion order (one string at a time, made as the loop asks). */
  *keys(): Generator<Oid, void, void> {
    for (let i = 0; i < this.count; i++) yield oidAt(this.ids, i * 20);
  }

  *entries(): Generator<[Oid, ObjectType], void, void> {
    for (let i = 0; i < this.count; i++) yield [oidAt(this.ids, i * 20), TYPES[this.types[i]! - 1]!];
  }

  [Symbol.iterator](): Generator<[Oid, ObjectType], void, void> {
    return this.entries();
  }

  /** The table slot of the id at bytes[at..at+20): where it is, or the empty slot it would take. */
  private slot(bytes: Uint8Array, at: number): number {
    const table = this.table;
    const mask = table.length - 1;
    let i = idHash(bytes, at) & mask;
    for (;;) {
      const index = table[i]!;
      if (index === 0 || sameId(this.ids, (index - 1) * 20, bytes, at)) return i;
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const capacity = this.types.length * 2;
    const ids = new Uint8Array(capacity * 20);
    ids.set(this.ids);
    const types = new Uint8Array(capacity);
    types.set(this.types);
    this.ids = ids;
    this.types = types;
    this.table = new Uint32Array(tableSizeFor(capacity));
    for (let i = 0; i < this.count; i++) this.table[this.slot(ids, i * 20)] = i + 1;
  }
}

/** A power of two at least twice the capacity: probes stay short at half load. */
function tableSizeFor(capacity: number): number {
  let size = 1024;
  while (size < capacity * 2) size *= 2;
  return size;
}
