// Writes a stream of unknown length to R2 with bounded memory: one PUT when it fits in a part,
// else a multipart upload of equal parts (R2 wants every part but the last the same size).

const WRITE_PART_SIZE = 8 * 1024 * 1024;

export class R2StreamWriter {
  /**
   * The part being filled: chunks are copied in as they come (the caller may reuse its chunk once
   * `write` resolves), so a part costs one buffer, not its chunks plus a copy of them. It grows by
   * doubling up to the part size, so a small write stays small, and is reused for the next part.
   */
  private part: Uint8Array = new Uint8Array(0);
  private buffered = 0;
  private upload: R2MultipartUpload | null = null;
  private readonly parts: R2UploadedPart[] = [];
  private written = 0;
  /** The multipart upload was completed: giving up then means deleting the object. */
  private completed = false;

  constructor(
    private readonly bucket: R2Bucket,
    readonly key: string,
    private readonly partSize = WRITE_PART_SIZE,
  ) {}

  /** Bytes of part buffers the writer made itself (what `adopt` saves; tests count it). */
  allocated = 0;

  get size(): number {
    return this.written + this.buffered;
  }

  /**
   * Takes `buffer` (which the caller no longer uses) as the part buffer when it is larger than the
   * one the writer has and nothing is buffered yet: the indexer hands its read buffer on to the
   * .idx writer this way, so the end of an import makes no new 8 MiB part.
   */
  adopt(buffer: Uint8Array): void {
    if (this.buffered > 0 || buffer.length <= this.part.length) return;
    this.part = buffer;
  }

  /** Writes `chunk` (copied: the caller may reuse it once this resolves). */
  async write(chunk: Uint8Array): Promise<void> {
    for (let at = 0; at < chunk.length; ) {
      const n = Math.min(chunk.length - at, this.partSize - this.buffered);
      this.room(this.buffered + n);
      this.part.set(chunk.subarray(at, at + n), this.buffered);
      this.buffered += n;
      at += n;
      if (this.buffered === this.partSize) await this.flushPart();
    }
  }

  private room(need: number): void {
    if (need <= this.part.length) return;
    let size = Math.max(this.part.length * 2, 64 * 1024);
    while (size < need) size *= 2;
    const next = new Uint8Array(Math.min(size, this.partSize));
    this.allocated += next.length;
    next.set(this.part.subarray(0, this.buffered));
    this.part = next;
  }

  private async flushPart(): Promise<void> {
    this.upload ??= await this.bucket.createMultipartUpload(this.key);
    const part = await this.upload.uploadPart(this.parts.length + 1, this.part.subarray(0, this.buffered));
    this.parts.push(part);
    this.written += this.buffered;
    this.buffered = 0;
    // A runtime that took the bytes by transferring the buffer leaves it detached: start anew.
    if (this.part.byteLength === 0) this.part = new Uint8Array(0);
  }

  /** Stores what was written and returns its size. */
  async finish(): Promise<number> {
    if (!this.upload) {
      const size = this.buffered;
      await this.bucket.put(this.key, this.part.subarray(0, size));
      this.part = new Uint8Array(0);
      this.written = size;
      this.buffered = 0;
      return size;
    }
    if (this.buffered > 0) await this.flushPart();
    // The part buffer goes now, not when the writer does (a compaction writes the index next).
    this.part = new Uint8Array(0);
    await this.upload.complete(this.parts);
    this.completed = true;
    return this.written;
  }

  /** Gives up (even after `finish`): nothing of it stays in R2. */
  async abort(): Promise<void> {
    this.part = new Uint8Array(0);
    this.buffered = 0;
    try {
      if (this.upload && !this.completed) await this.upload.abort();
      else await this.bucket.delete(this.key);
    } catch {
      // Already gone or never written.
    }
  }
}

/** A PUT of exactly `size` bytes written piece by piece (`putStreamed`, or a writer fed from elsewhere). */
export interface StreamedPut {
  /** Writes a copy of `piece` (the caller may reuse it once this resolves). */
  write(piece: Uint8Array): Promise<void>;
  /** Ends the stream and waits for the object to be stored. */
  close(): Promise<void>;
  /** Gives up: nothing is stored. */
  abort(err: unknown): Promise<void>;
}

/** Starts a PUT of exactly `size` bytes to `key`: one request, no more than a piece held at a time. */
export function streamedPut(bucket: R2Bucket, key: string, size: number): StreamedPut {
  const { readable, writable } = new FixedLengthStream(size);
  const stored = bucket.put(key, readable);
  // Seen by close or abort; a PUT given up on fails unseen meanwhile.
  stored.catch(() => undefined);
  const writer = writable.getWriter();
  return {
    write: (piece) => writer.write(piece.slice()),
    async close() {
      await writer.close();
      await stored;
    },
    async abort(err) {
      await writer.abort(err).catch(() => undefined);
      await stored.catch(() => undefined);
    },
  };
}

/**
 * Stores exactly `size` bytes under `key` as `fill` writes them: one PUT of a stream of known
 * length, so that no more than a piece is held at a time (a multipart part is 8 MiB). Each piece
 * is copied, so the caller may reuse its buffer once `write` resolves. Fails, storing nothing,
 * when `fill` throws or writes another number of bytes.
 */
export async function putStreamed(
  bucket: R2Bucket,
  key: string,
  size: number,
  fill: (write: (piece: Uint8Array) => Promise<void>) => Promise<unknown>,
): Promise<void> {
  const put = streamedPut(bucket, key, size);
  try {
    await fill(put.write);
    await put.close();
  } catch (err) {
    await put.abort(err);
    throw err;
  }
}
