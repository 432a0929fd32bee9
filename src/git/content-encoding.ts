// Request bodies git sends gzip-compressed (Content-Encoding: gzip): decoded as a stream, with a
// corrupt stream reported as the client's protocol error instead of surfacing as a server fault.
import { protocolError } from "./errors";

/**
 * The body as git meant it: gunzipped when `encoding` says gzip. Reading a stream that is not
 * valid gzip fails with a GitError ("protocol"), which callers answer with 400.
 */
export function decodedBody(body: ReadableStream<Uint8Array>, encoding: string | null | undefined): ReadableStream<Uint8Array> {
  const name = (encoding ?? "").trim().toLowerCase();
  if (name !== "gzip" && name !== "x-gzip") return body;
  const reader = body.pipeThrough(new DecompressionStream("gzip")).getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let step: Awaited<ReturnType<typeof reader.read>>;
      try {
        step = await reader.read();
      } catch {
        controller.error(
          protocolError("the request body is not valid gzip (Content-Encoding: gzip); send it uncompressed or re-compress it"),
        );
        return;
      }
      if (step.done) controller.close();
      else controller.enqueue(step.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
