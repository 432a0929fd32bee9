// Archives of a tree (.tar.gz and .zip), written as they are read: one file at a time, each
// streamed from its pack entry, so memory stays bounded whatever the size of the tree. The layout
// follows `git archive` (pax header with the commit id, directories, symlinks, umask 002).
import { openBlobStream } from "./blob-stream";
import { crc32 } from "./crc32";
import type { ObjectStore } from "./object-store";
import { isSubmoduleMode, isTreeMode, forEachTreeEntry } from "./objects";
import type { Oid } from "./oid";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface ArchiveEntry {
  /** Path inside the archive (with the prefix); directories end in "/". */
  path: string;
  kind: "dir" | "file" | "exec" | "link";
  oid?: Oid;
}

/** Every entry of a tree, depth first in tree order, directories before what they hold. */
async function* treeEntries(store: ObjectStore, tree: Oid, prefix: string): AsyncGenerator<ArchiveEntry> {
  const data = await store.readTyped(tree, "tree");
  const items: { name: string; mode: string; oid: Oid }[] = [];
  forEachTreeEntry(data, (mode, oid, s, e) => items.push({ name: decoder.decode(data.subarray(s, e)), mode, oid }));
  for (const it of items) {
    const path = prefix + it.name;
    if (isTreeMode(it.mode)) {
      yield { path: `${path}/`, kind: "dir" };
      yield* treeEntries(store, it.oid, `${path}/`);
    } else if (isSubmoduleMode(it.mode)) {
      yield { path: `${path}/`, kind: "dir" };
    } else if (it.mode === "120000") {
      yield { path, kind: "link", oid: it.oid };
    } else {
      yield { path, kind: it.mode === "100755" ? "exec" : "file", oid: it.oid };
    }
  }
}

/** A ReadableStream fed by an async generator, one chunk per pull (so the consumer sets the pace). */
function streamOf(gen: AsyncGenerator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { value, done } = await gen.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel() {
        await gen.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}

async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      if (value.length) yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

// ---- tar (POSIX ustar with pax extended headers for long names)

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

function tarHeader(h: { name: string; mode: number; size: number; mtime: number; type: string; linkname?: string }): Uint8Array {
  const b = new Uint8Array(BLOCK);
  const put = (s: string | Uint8Array, at: number, max: number) => {
    const bytes = typeof s === "string" ? encoder.encode(s) : s;
    b.set(bytes.subarray(0, max), at);
  };
  put(h.name, 0, 100);
  put(octal(h.mode, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(h.size, 12), 124, 12);
  put(octal(h.mtime, 12), 136, 12);
  b.fill(0x20, 148, 156);
  put(h.type, 156, 1);
  if (h.linkname) put(h.linkname, 157, 100);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  put("root", 265, 32);
  put("root", 297, 32);
  let sum = 0;
  for (const x of b) sum += x;
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
  return b;
}

/** A pax record "<len> key=value\n", whose length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLen = encoder.encode(body).length;
  let len = bodyLen + 1;
  while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
  return `${len}${body}`;
}

function paxBlocks(type: "x" | "g", name: string, records: string, mtime: number): Uint8Array[] {
  const data = encoder.encode(records);
  return [tarHeader({ name, mode: 0o666, size: data.length, mtime, type }), data, padding(data.length)];
}

/** The archive's entries: the prefix folder (when there is one), then the tree below it. */
async function* archiveEntries(store: ObjectStore, tree: Oid, prefix: string): AsyncGenerator<ArchiveEntry> {
  if (prefix) yield { path: prefix, kind: "dir" } as ArchiveEntry;
  yield* treeEntries(store, tree, prefix);
}

const padding = (size: number) => new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);

function tarStream(
  store: ObjectStore,
  tree: Oid,
  opts: { prefix: string; mtime: number; commit?: Oid },
): ReadableStream<Uint8Array> {
  async function* generate(): AsyncGenerator<Uint8Array> {
    if (opts.commit) yield* paxBlocks("g", "pax_global_header", paxRecord("comment", opts.commit), opts.mtime);
    const entries = archiveEntries(store, tree, opts.prefix);
    for await (const e of entries) {
      let linkname: string | undefined;
      let body: { size: number; stream: ReadableStream<Uint8Array> } | null = null;
      if (e.kind === "link") linkname = decoder.decode(await store.readTyped(e.oid!, "blob"));
      else if (e.kind !== "dir") body = await openBlobStream(store, e.oid!);
      const nameBytes = encoder.encode(e.path).length;
      const linkBytes = linkname ? encoder.encode(linkname).length : 0;
      let name = e.path;
      if (nameBytes > 100 || linkBytes > 100) {
        let records = "";
        if (nameBytes > 100) records += paxRecord("path", e.path);
        if (linkBytes > 100) records += paxRecord("linkpath", linkname!);
        yield* paxBlocks("x", "pax_header", records, opts.mtime);
        name = e.path.slice(0, 99);
      }
      const mode = e.kind === "dir" || e.kind === "exec" ? 0o775 : e.kind === "link" ? 0o777 : 0o664;
      const type = e.kind === "dir" ? "5" : e.kind === "link" ? "2" : "0";
      yield tarHeader({ name, mode, size: body?.size ?? 0, mtime: opts.mtime, type, linkname: linkname?.slice(0, 100) });
      if (body) {
        yield* chunksOf(body.stream);
        const pad = padding(body.size);
        if (pad.length) yield pad;
      }
    }
    yield new Uint8Array(BLOCK * 2);
  }
  return streamOf(generate());
}

// ---- zip (deflated entries with data descriptors; central directory at the end)

function dosTime(epochSeconds: number): { time: number; date: number } {
  const d = new Date(epochSeconds * 1000);
  const year = Math.max(1980, d.getUTCFullYear());
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

class Bytes {
  private readonly parts: number[] = [];
  u16(v: number) {
    this.parts.push(v & 0xff, (v >>> 8) & 0xff);
    return this;
  }
  u32(v: number) {
    this.parts.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
    return this;
  }
  bytes(b: Uint8Array) {
    for (const x of b) this.parts.push(x);
    return this;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

const ZIP_LIMIT = 0xffffffff;
/** Files larger than this go into a zip uncompressed. */
const STORE_ABOVE = 8 * 1024 * 1024;

export function zipStream(
  store: ObjectStore,
  tree: Oid,
  opts: { prefix: string; mtime: number; commit?: Oid; storeAbove?: number },
): ReadableStream<Uint8Array> {
  const storeAbove = opts.storeAbove ?? STORE_ABOVE;
  const { time, date } = dosTime(opts.mtime);
  async function* generate(): AsyncGenerator<Uint8Array> {
    const central: Uint8Array[] = [];
    let offset = 0;
    let count = 0;
    const entries = archiveEntries(store, tree, opts.prefix);
    for await (const e of entries) {
      if (++count > 0xffff) throw new Error("this tree has too many files for a zip archive; use .tar.gz");
      const name = encoder.encode(e.path);
      // Files are deflated one stream each, which holds at most the file in flight; files past
      // STORE_ABOVE are stored as they are (large files in repositories are mostly compressed
      // already, and this keeps memory flat whatever their size).
      const body = e.kind === "file" || e.kind === "exec" ? await openBlobStream(store, e.oid!) : null;
      const method = body && body.size <= storeAbove ? 8 : 0;
      const flags = 0x0800 | (body ? 0x0008 : 0);
      const unixMode = e.kind === "dir" ? 0o40775 : e.kind === "link" ? 0o120777 : e.kind === "exec" ? 0o100775 : 0o100664;
      const headerAt = offset;
      let crc = 0;
      let size = 0;
      let csize = 0;
      let link: Uint8Array | null = null;
      if (e.kind === "link") {
        link = await store.readTyped(e.oid!, "blob");
        crc = crc32(link);
        size = csize = link.length;
      }
      const local = new Bytes()
        .u32(0x04034b50)
        .u16(20)
        .u16(flags)
        .u16(method)
        .u16(time)
        .u16(date)
        .u32(body ? 0 : crc)
        .u32(body ? 0 : csize)
        .u32(body ? 0 : size)
        .u16(name.length)
        .u16(0)
        .bytes(name)
        .done();
      yield local;
      offset += local.length;
      if (link) {
        yield link;
        offset += link.length;
      } else if (body) {
        const counted = body.stream.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              crc = crc32(chunk, crc);
              size += chunk.length;
              controller.enqueue(chunk);
            },
          }),
        );
        const data =
          method === 8
            ? counted.pipeThrough(new CompressionStream("deflate-raw") as unknown as TransformStream<Uint8Array, Uint8Array>)
            : counted;
        for await (const chunk of chunksOf(data)) {
          csize += chunk.length;
          yield chunk;
        }
        offset += csize;
        const descriptor = new Bytes().u32(0x08074b50).u32(crc).u32(csize).u32(size).done();
        yield descriptor;
        offset += descriptor.length;
      }
      if (offset > ZIP_LIMIT) throw new Error("this archive would pass 4 GiB, which zip cannot hold without zip64; use .tar.gz");
      central.push(
        new Bytes()
          .u32(0x02014b50)
          .u16((3 << 8) | 20)
          .u16(20)
          .u16(flags)
          .u16(method)
          .u16(time)
          .u16(date)
          .u32(crc)
          .u32(csize)
          .u32(size)
          .u16(name.length)
          .u16(0)
          .u16(0)
          .u16(0)
          .u16(0)
          .u32(((unixMode << 16) | (e.kind === "dir" ? 0x10 : 0)) >>> 0)
          .u32(headerAt)
          .bytes(name)
          .done(),
      );
    }
    let cdSize = 0;
    for (const c of central) {
      yield c;
      cdSize += c.length;
    }
    const comment = encoder.encode(opts.commit ?? "");
    yield new Bytes()
      .u32(0x06054b50)
      .u16(0)
      .u16(0)
      .u16(central.length)
      .u16(central.length)
      .u32(cdSize)
      .u32(offset)
      .u16(comment.length)
      .bytes(comment)
      .done();
  }
  return streamOf(generate());
}

/** Input bytes per gzip member (see gzipMembers). */
const GZIP_MEMBER = 4 * 1024 * 1024;

/** Compresses `parts` into one gzip member, reading the output as it is made. */
async function gzipMember(parts: Uint8Array[]): Promise<Uint8Array[]> {
  const cs = new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>;
  const writer = cs.writable.getWriter();
  const out: Uint8Array[] = [];
  const drained = (async () => {
    const reader = cs.readable.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      out.push(value);
    }
  })();
  for (const p of parts) await writer.write(p);
  await writer.close();
  await drained;
  return out;
}

/**
 * gzip as a series of members of at most GZIP_MEMBER input bytes each (RFC 1952 allows any
 * number; gzip, tar and every unzipper read them as one file). One long-lived compressor takes
 * input faster than it compresses it, and the difference piles up in memory; a member at a time
 * keeps what is held to a few MiB whatever the archive's size.
 */
async function* gzipMembers(chunks: AsyncIterable<Uint8Array>, memberBytes = GZIP_MEMBER): AsyncGenerator<Uint8Array> {
  let batch: Uint8Array[] = [];
  let size = 0;
  for await (const c of chunks) {
    batch.push(c);
    size += c.length;
    if (size >= memberBytes) {
      yield* await gzipMember(batch);
      batch = [];
      size = 0;
    }
  }
  if (batch.length) yield* await gzipMember(batch);
}

export function tarGzStream(
  store: ObjectStore,
  tree: Oid,
  opts: { prefix: string; mtime: number; commit?: Oid; memberBytes?: number },
): ReadableStream<Uint8Array> {
  return streamOf(gzipMembers(chunksOf(tarStream(store, tree, opts)), opts.memberBytes));
}
