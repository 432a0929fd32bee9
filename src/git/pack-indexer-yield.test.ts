// Indexing a large pack yields to the event loop now and then, so other requests are served
// meanwhile (locally one workerd thread runs every worker: an import held up every page).
import { describe, expect, it } from "vitest";
import { sha1 } from "./oid";
import { encodeEntryHeader, packHeader, typeNumber } from "./pack-format";
import { indexPack } from "./pack-indexer";
import { MemorySource } from "./range-source";
import { deflate } from "./zlib";
import { concatBytes } from "../utils/bytes";
import { turnsDuring } from "../../test/worker/turns";

/** A pack of `n` distinct small blobs, all read from memory (no await that really waits). */
function blobPack(n: number): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [packHeader(n)];
  for (let i = 0; i < n; i++) {
    const data = enc.encode(`blob number ${i}\n`);
    parts.push(encodeEntryHeader(typeNumber("blob"), data.length), deflate(data));
  }
  const body = concatBytes(parts);
  return concatBytes([body, new Uint8Array(sha1().update(body).digest())]);
}

describe("pack indexer", () => {
  it("lets timers run while it indexes a pack held in memory", async () => {
    // Counts event-loop turns that other work gets while the index is built.
    const { result, turns } = await turnsDuring(() => indexPack(new MemorySource("many-blobs", blobPack(2000))));
    expect(result.count).toBe(2000);
    expect(turns).toBeGreaterThan(10);
  });
});
