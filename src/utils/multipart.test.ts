// The streaming multipart reader against bodies encoded by workerd's own FormData, cut into
// chunks of every size, so delimiters that straddle chunks are found.
import { describe, expect, it } from "vitest";
import { multipartBoundary, readMultipart, type FilePart } from "./multipart";
import { ForgeError } from "./errors";

async function encode(form: FormData): Promise<{ bytes: Uint8Array; boundary: string }> {
  const req = new Request("http://x/", { method: "POST", body: form });
  const boundary = multipartBoundary(req.headers.get("content-type") ?? undefined);
  if (!boundary) throw new Error("no boundary");
  return { bytes: new Uint8Array(await req.arrayBuffer()), boundary };
}

function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

async function read(bytes: Uint8Array, boundary: string, chunk: number, maxFieldBytes = 1 << 20) {
  const files: (FilePart & { data: string })[] = [];
  const fields = await readMultipart(chunked(bytes, chunk), boundary, {
    maxFieldBytes,
    maxParts: 20,
    onFile: async (part) => {
      const chunks: Uint8Array[] = [];
      return {
        write: async (c) => void chunks.push(c),
        end: async () => {
          const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
          let o = 0;
          for (const c of chunks) {
            all.set(c, o);
            o += c.length;
          }
          files.push({ ...part, data: new TextDecoder().decode(all) });
        },
      };
    },
  });
  return { fields, files };
}

describe("readMultipart", () => {
  it("reads fields and files whatever the chunk size", async () => {
    const form = new FormData();
    form.append("summary", "Crash — when saving ✓");
    form.append("description", "line 1\r\n--not a boundary\r\nline 3");
    form.append("attachment", new File(["first file\r\n\r\ncontent"], "report.txt", { type: "text/plain" }));
    form.append("empty", "");
    form.append("attachment", new File([new Uint8Array(3000).fill(0x2d)], "dashes.bin"));
    const { bytes, boundary } = await encode(form);
    for (const size of [1, 2, 3, 5, 7, 13, 64, 100, 1000, bytes.length]) {
      const { fields, files } = await read(bytes, boundary, size);
      expect(fields, `chunk ${size}`).toEqual({
        summary: "Crash — when saving ✓",
        description: "line 1\r\n--not a boundary\r\nline 3",
        empty: "",
      });
      expect(files.map((f) => [f.field, f.filename, f.data.length])).toEqual([
        ["attachment", "report.txt", 21],
        ["attachment", "dashes.bin", 3000],
      ]);
      expect(files[0]!.data).toBe("first file\r\n\r\ncontent");
      expect(files[1]!.data).toBe("-".repeat(3000));
    }
  });

  it("skips empty file inputs (no file chosen)", async () => {
    const form = new FormData();
    form.append("attachment", new File([], ""));
    form.append("summary", "x");
    const { bytes, boundary } = await encode(form);
    const { fields, files } = await read(bytes, boundary, 10);
    expect(fields).toEqual({ summary: "x" });
    expect(files).toEqual([]);
  });

  it("refuses malformed and truncated bodies, and too much text", async () => {
    const form = new FormData();
    form.append("summary", "a".repeat(500));
    const { bytes, boundary } = await encode(form);
    const status = (p: Promise<unknown>) =>
      p.then(
        () => 200,
        (e: unknown) => (e instanceof ForgeError ? e.status : 500),
      );
    expect(await status(read(bytes.slice(0, bytes.length - 10), boundary, 50))).toBe(400);
    expect(await status(read(new TextEncoder().encode("no parts at all"), boundary, 50))).toBe(400);
    expect(await status(read(bytes, boundary, 50, 100))).toBe(413);
  });

  it("finds the boundary only in multipart/form-data types", () => {
    expect(multipartBoundary("multipart/form-data; boundary=abc")).toBe("abc");
    expect(multipartBoundary('multipart/form-data; boundary="a b"')).toBe("a b");
    expect(multipartBoundary("application/x-www-form-urlencoded")).toBeNull();
    expect(multipartBoundary(undefined)).toBeNull();
  });
});
