// R2 objects as RangeSources for the git object reader (ranged GETs).
import type { RangeSource } from "../git/range-source";
import { readStreamInto } from "../git/stream-reads";
import { isolateTurns, STORAGE_READ_UNITS } from "../utils/pace";

export class R2Source implements RangeSource {
  constructor(
    private readonly bucket: R2Bucket,
    readonly id: string,
    readonly size: number,
  ) {}

  async read(start: number, end: number): Promise<Uint8Array> {
    end = Math.min(end, this.size);
    if (end <= start) return new Uint8Array(0);
    const obj = await this.bucket.get(this.id, { range: { offset: start, length: end - start } });
    if (!obj) throw new Error(`R2 object ${this.id} is missing`);
    const bytes = new Uint8Array(await obj.arrayBuffer());
    // Locally this read was a chain of calls into Miniflare's simulator on the page's own thread,
    // during which no timer ran and no other request got in: it spends from the isolate's budget.
    const turn = isolateTurns.spend(STORAGE_READ_UNITS);
    if (turn) await turn;
    return bytes;
  }

  /** One ranged GET read straight into the caller's buffer (a BYOB reader): no array buffer of its own. */
  async readInto(start: number, into: Uint8Array): Promise<Uint8Array> {
    const length = Math.min(into.length, this.size - start);
    if (length <= 0) return into.subarray(0, 0);
    const obj = await this.bucket.get(this.id, { range: { offset: start, length } });
    if (!obj) throw new Error(`R2 object ${this.id} is missing`);
    const read = await readStreamInto(obj.body, into.subarray(0, length));
    if (read.length !== length) throw new Error(`R2 object ${this.id} ended ${length - read.length} bytes early`);
    return read;
  }

  async stream(start: number, end: number): Promise<ReadableStream<Uint8Array>> {
    end = Math.min(end, this.size);
    const obj = await this.bucket.get(this.id, { range: { offset: start, length: Math.max(0, end - start) } });
    if (!obj) throw new Error(`R2 object ${this.id} is missing`);
    return obj.body;
  }
}
