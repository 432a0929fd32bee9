// A pushed pack is read from the request body into one buffer the reader gives (a BYOB read),
// not a new array buffer per chunk: a push of hundreds of MiB left that many MiB of garbage
// buffers, which count toward the isolate's memory until V8 frees them.
import { describe, expect, it } from "vitest";
import { readPushRequest } from "./receive-pack";
import { pkt, FLUSH } from "./pkt-line";
import { concatBytes } from "../utils/bytes";

/**
 * A byte stream of `body` (no zero byte in it) in pieces of at most `piece` bytes, counting the
 * pulls whose buffer was fresh memory (zeros) rather than a buffer read into before.
 */
function byteBody(body: Uint8Array, piece = 10_000) {
  let at = 0;
  const counts = { pulls: 0, fresh: 0 };
  const stream = new ReadableStream({
    type: "bytes",
    pull(controller) {
      counts.pulls++;
      if (at >= body.length) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const request = controller.byobRequest;
      if (request?.view) {
        const view = new Uint8Array(request.view.buffer, request.view.byteOffset, request.view.byteLength);
        if (view[0] === 0) counts.fresh++;
        const n = Math.min(view.length, piece, body.length - at);
        view.set(body.subarray(at, at + n));
        at += n;
        request.respond(n);
      } else {
        counts.fresh++;
        const n = Math.min(piece, body.length - at);
        controller.enqueue(body.slice(at, at + n));
        at += n;
      }
    },
  });
  return { stream, counts };
}

/** Reads `stream` to its end, copying each chunk (valid only until the next read): the bytes and how many chunks came. */
async function readCopies(stream: ReadableStream<Uint8Array>): Promise<{ received: Uint8Array; chunks: number }> {
  const reader = stream.getReader();
  const got: Uint8Array[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    got.push(value.slice());
  }
  return { received: concatBytes(got), chunks: got.length };
}

describe("push request body", () => {
  it("reads the pack after the commands into the reader's own buffer, chunk by chunk, intact", async () => {
    const pack = new Uint8Array(3 * 1024 * 1024).map((_, i) => 1 + ((i * 7 + (i >> 12)) % 255));
    const head = concatBytes([pkt(`${"0".repeat(40)} ${"1".repeat(40)} refs/heads/main\0report-status\n`), FLUSH]);
    const { stream, counts } = byteBody(concatBytes([head, pack]));
    const push = await readPushRequest(stream);
    expect(push.commands).toEqual([{ old: "0".repeat(40), new: "1".repeat(40), name: "refs/heads/main" }]);
    const { received } = await readCopies(push.pack!);
    expect(received.length).toBe(pack.length);
    expect(received.every((b, i) => b === pack[i])).toBe(true);
    expect(counts.pulls).toBeGreaterThan(300);
    // Only the first read had a new buffer (its 64 KiB filled by 7 pieces); every later one was
    // given the same memory again.
    expect(counts.fresh).toBe(Math.ceil((64 * 1024) / 10_000));
  });

  it("hands the pack on in chunks of 64 KiB when the body comes in pieces of 4 KiB (one read each before)", async () => {
    const pack = new Uint8Array(2 * 1024 * 1024).map((_, i) => 1 + ((i * 13 + (i >> 10)) % 255));
    const head = concatBytes([pkt(`${"0".repeat(40)} ${"1".repeat(40)} refs/heads/main\0report-status\n`), FLUSH]);
    const { stream } = byteBody(concatBytes([head, pack]), 4096);
    const push = await readPushRequest(stream);
    const { received, chunks } = await readCopies(push.pack!);
    expect(received.every((b, i) => b === pack[i]) && received.length === pack.length).toBe(true);
    // Each chunk is a round of reads, promises and views for the receiving side (push/receive.ts):
    // 33 chunks for 2 MiB, where it was 513, one per piece.
    expect(chunks).toBeLessThanOrEqual(pack.length / (64 * 1024) + 2);
  });
});
