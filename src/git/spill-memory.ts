// Spill parts kept in memory (git/spill.ts SpillStore): for tests, which also read what it holds
// and how it was called, and for the in-memory pack indexer's records.
import type { SpillStore } from "./spill";

export class MemorySpillStore implements SpillStore {
  readonly parts = new Map<number, Uint8Array>();
  puts = 0;
  reads = 0;
  largestRead = 0;
  readonly deleted: number[] = [];
  /** Part number whose put fails (tests of failures); -1: none. */
  failPut = -1;
  failRead = false;

  async put(part: number, bytes: Uint8Array): Promise<void> {
    this.puts++;
    if (part === this.failPut) throw new Error("put failed");
    this.parts.set(part, bytes.slice());
  }

  async read(part: number, start: number, end: number): Promise<Uint8Array> {
    this.reads++;
    if (this.failRead) throw new Error("read failed");
    this.largestRead = Math.max(this.largestRead, end - start);
    const bytes = this.parts.get(part);
    if (!bytes) throw new Error(`spill part ${part} is missing`);
    return bytes.slice(start, end);
  }

  async delete(parts: number[]): Promise<void> {
    this.deleted.push(...parts);
    for (const p of parts) this.parts.delete(p);
  }
}
