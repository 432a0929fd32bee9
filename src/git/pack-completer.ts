// Completes a thin pack: the same entries (at the same offsets), the missing delta bases appended
// as whole objects, a new object count and trailer, so every stored pack is self-contained.
import type { GitObject } from "./object-store";
import { hexToBytes, sha1, bytesToHex, type Oid } from "./oid";
import { encodeEntryHeader, packHeader, PACK_HEADER_SIZE, typeNumber } from "./pack-format";
import { PackIndex, writePackIndexColumns } from "./pack-index";
import type { IndexResult } from "./pack-indexer";
import type { RangeSource } from "./range-source";
import { crc32 } from "./crc32";
import { deflate } from "./zlib";

const COPY_CHUNK = 8 * 1024 * 1024;

export interface CompletedPack {
  checksum: Oid;
  count: number;
  size: number;
  index: Uint8Array;
}

export async function completeThinPack(
  thin: RangeSource,
  indexed: IndexResult,
  bases: { oid: Oid; object: GitObject }[],
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<CompletedPack> {
  const hash = sha1();
  let size = 0;
  const emit = async (chunk: Uint8Array) => {
    hash.update(chunk);
    size += chunk.length;
    await write(chunk);
  };
  const count = indexed.count + bases.length;
  await emit(packHeader(count));
  const bodyEnd = thin.size - 20;
  for (let pos = PACK_HEADER_SIZE; pos < bodyEnd; pos += COPY_CHUNK) {
    await emit(await thin.read(pos, Math.min(bodyEnd, pos + COPY_CHUNK)));
  }
  // The thin pack's entries straight from its index (columns, not an object per entry), then the bases.
  const oldIndex = new PackIndex(indexed.index);
  const n = oldIndex.count;
  const oids = new Uint8Array((n + bases.length) * 20);
  const offsets = new Float64Array(n + bases.length);
  const crcs = new Uint32Array(n + bases.length);
  for (let i = 0; i < n; i++) {
    oids.set(oldIndex.oidBytesAt(i), i * 20);
    offsets[i] = oldIndex.offsetAt(i);
    crcs[i] = oldIndex.crcAt(i);
  }
  let next = n;
  for (const { oid, object } of bases) {
    const header = encodeEntryHeader(typeNumber(object.type), object.data.length);
    const body = deflate(object.data);
    oids.set(hexToBytes(oid), next * 20);
    offsets[next] = size;
    crcs[next++] = crc32(body, crc32(header));
    await emit(header);
    await emit(body);
  }
  const trailer = new Uint8Array(hash.digest());
  await write(trailer);
  return { checksum: bytesToHex(trailer), count, size: size + 20, index: writePackIndexColumns(oids, offsets, crcs, trailer) };
}
