// Reads git objects out of a repository's packs: finds them through the pack indexes, reads their
// entries through ranged reads, and resolves delta chains with a bounded, shared base cache.
import { applyDelta, deltaSizes } from "./delta";
import { GitError } from "./errors";
import type { PackIndex } from "./pack-index";
import { OBJ_OFS_DELTA, OBJ_REF_DELTA, parseEntryHeader, typeName, type EntryHeader } from "./pack-format";
import type { ObjectType, Oid } from "./oid";
import type { RangeSource } from "./range-source";
import { inflateAt } from "./zlib";
import { ByteLru } from "../utils/lru";

export interface GitObject {
  type: ObjectType;
  data: Uint8Array;
}

/** Longest header of a pack entry (type/size varint, plus a 20-byte REF_DELTA base). */
const MAX_ENTRY_HEADER = 32;

export class Pack {
  constructor(
    readonly name: string,
    readonly index: PackIndex,
    readonly source: RangeSource,
  ) {}

  get id(): string {
    return this.source.id;
  }

  /** Where the entry at `offset` ends (where the next one starts, or the trailer). */
  entryEnd(offset: number): number {
    return this.index.nextOffset(offset, this.source.size);
  }

  /** Header of the entry at `offset`, and the raw bytes of the entry. */
  async rawEntry(offset: number): Promise<{ header: EntryHeader; bytes: Uint8Array }> {
    const bytes = await this.source.read(offset, this.entryEnd(offset));
    const header = parseEntryHeader(bytes, 0, offset);
    if (!header) throw new GitError("corrupt_pack", `truncated entry at offset ${offset} of ${this.name}`);
    return { header, bytes };
  }

  /** Just the header of the entry at `offset` (a small read). */
  async header(offset: number): Promise<EntryHeader> {
    const end = Math.min(this.entryEnd(offset), offset + MAX_ENTRY_HEADER);
    const header = parseEntryHeader(await this.source.read(offset, end), 0, offset);
    if (!header) throw new GitError("corrupt_pack", `truncated entry at offset ${offset} of ${this.name}`);
    return header;
  }
}

export interface Location {
  pack: Pack;
  offset: number;
}

/** Resolved objects shared by every request of the isolate; entries are immutable. */
const resolved = new ByteLru<string, GitObject>(16 * 1024 * 1024, (o) => o.data.length + 64);
/**
 * Short numbers for pack ids (long R2 keys), so that the resolved-object keys hashed on every
 * read stay short. Bounded: when full it starts over with new numbers (old entries age out).
 */
const packNumbers = new Map<string, number>();
let nextPackNumber = 0;
function entryKey(pack: Pack, offset: number): string {
  let n = packNumbers.get(pack.id);
  if (n === undefined) {
    if (packNumbers.size >= 10_000) packNumbers.clear();
    packNumbers.set(pack.id, (n = nextPackNumber++));
  }
  return `${n}@${offset}`;
}

/** Objects larger than this are not cached (they would evict many small trees and commits). */
const MAX_CACHED_OBJECT = 1024 * 1024;

export class ObjectStore {
  constructor(readonly packs: Pack[]) {}

  locate(oid: Oid | Uint8Array): Location | null {
    for (const pack of this.packs) {
      const i = pack.index.find(oid);
      if (i >= 0) return { pack, offset: pack.index.offsetAt(i) };
    }
    return null;
  }

  has(oid: Oid | Uint8Array): boolean {
    return this.locate(oid) !== null;
  }

  async read(oid: Oid): Promise<GitObject> {
    const loc = this.locate(oid);
    if (!loc) throw new GitError("missing_object", `object ${oid} is missing`);
    return this.readAt(loc.pack, loc.offset);
  }

  /** Reads an object and checks its type. */
  async readTyped(oid: Oid, type: ObjectType): Promise<Uint8Array> {
    const obj = await this.read(oid);
    if (obj.type !== type) throw new GitError("missing_object", `object ${oid} is a ${obj.type}, not a ${type}`);
    return obj.data;
  }

  async readAt(pack: Pack, offset: number): Promise<GitObject> {
    const key = entryKey(pack, offset);
    const hit = resolved.get(key);
    if (hit) return hit;
    const { header, bytes } = await pack.rawEntry(offset);
    const { data } = inflateAt(bytes, header.headerLength, header.size);
    let obj: GitObject;
    if (header.type === OBJ_OFS_DELTA || header.type === OBJ_REF_DELTA) {
      const base = header.type === OBJ_OFS_DELTA ? await this.readAt(pack, header.baseOffset!) : await this.read(header.baseOid!);
      obj = { type: base.type, data: applyDelta(base.data, data) };
    } else {
      obj = { type: typeName(header.type), data };
    }
    if (obj.data.length <= MAX_CACHED_OBJECT) resolved.set(key, obj);
    return obj;
  }

  /** Type and size of an object without rebuilding it (deltas: from their headers). */
  async info(oid: Oid): Promise<{ type: ObjectType; size: number }> {
    const loc = this.locate(oid);
    if (!loc) throw new GitError("missing_object", `object ${oid} is missing`);
    return this.infoAt(loc.pack, loc.offset);
  }

  async infoAt(pack: Pack, offset: number): Promise<{ type: ObjectType; size: number }> {
    const cached = resolved.get(entryKey(pack, offset));
    if (cached) return { type: cached.type, size: cached.data.length };
    const header = await pack.header(offset);
    if (header.type !== OBJ_OFS_DELTA && header.type !== OBJ_REF_DELTA) {
      return { type: typeName(header.type), size: header.size };
    }
    const { header: h, bytes } = await pack.rawEntry(offset);
    const { resultSize } = deltaSizes(inflateAt(bytes, h.headerLength, h.size).data);
    const base = h.type === OBJ_OFS_DELTA ? await this.typeAt(pack, h.baseOffset!) : await this.typeOf(h.baseOid!);
    return { type: base, size: resultSize };
  }

  private async typeAt(pack: Pack, offset: number): Promise<ObjectType> {
    for (let depth = 0; depth < 10_000; depth++) {
      const cached = resolved.get(entryKey(pack, offset));
      if (cached) return cached.type;
      const h = await pack.header(offset);
      if (h.type === OBJ_OFS_DELTA) offset = h.baseOffset!;
      else if (h.type === OBJ_REF_DELTA) return this.typeOf(h.baseOid!);
      else return typeName(h.type);
    }
    throw new GitError("corrupt_pack", "delta chain too long");
  }

  private typeOf(oid: Oid): Promise<ObjectType> {
    const loc = this.locate(oid);
    if (!loc) throw new GitError("missing_object", `object ${oid} is missing`);
    return this.typeAt(loc.pack, loc.offset);
  }
}
