// Writes a stream of unknown length to R2 with bounded memory: one PUT when it fits in a part,
// else a multipart upload of equal parts (R2 wants every part but the last the same size).

const WRITE_PART_SIZE = 8 * 1024 * 1024;

export class R2StreamWriter {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private upload: R2MultipartUpload | null = null;
  private readonly parts: R2UploadedPart[] = [];
  private written = 0;

  constructor(
    private readonly bucket: R2Bucket,
    readonly key: string,
    private readonly partSize = WRITE_PART_SIZE,
  ) {}

  get size(): number {
    return this.written + this.buffered;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= this.partSize) await this.flushPart(this.partSize);
  }

  private take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const c = this.chunks[0]!;
      const need = n - o;
      if (c.length <= need) {
        out.set(c, o);
        o += c.length;
        this.chunks.shift();
      } else {
        out.set(c.subarray(0, need), o);
        this.chunks[0] = c.subarray(need);
        o += need;
      }
    }
    this.buffered -= n;
    return out;
  }

  private async flushPart(n: number): Promise<void> {
    this.upload ??= await this.bucket.createMultipartUpload(this.key);
    const part = await this.upload.uploadPart(this.parts.length + 1, this.take(n));
    this.parts.push(part);
    this.written += n;
  }

  /** Stores what was written and returns its size. */
  async finish(): Promise<number> {
    if (!this.upload) {
      const size = this.buffered;
      await this.bucket.put(this.key, this.take(size));
      this.written = size;
      return size;
    }
    if (this.buffered > 0) await this.flushPart(this.buffered);
    await this.upload.complete(this.parts);
    return this.written;
  }

  /** Gives up: nothing of it stays in R2. */
  async abort(): Promise<void> {
    this.chunks = [];
    this.buffered = 0;
    try {
      if (this.upload) await this.upload.abort();
      else await this.bucket.delete(this.key);
    } catch {
      // Already gone or never written.
    }
  }
}
