// A streaming multipart/form-data reader: text fields come back as strings (bounded), file parts
// are handed chunk by chunk to a sink, so an upload never sits whole in memory.
import { ForgeError } from "./errors";

export interface FilePart {
  /** The form field's name. */
  field: string;
  /** The file name the browser sent (path parts removed). */
  filename: string;
  /** The declared type; never trusted for serving. */
  contentType: string;
}

export interface FileSink {
  write(chunk: Uint8Array): Promise<void>;
  /** Called after the part's last byte. */
  end(): Promise<void>;
}

export interface MultipartOptions {
  /** Total bytes of all text fields together. */
  maxFieldBytes: number;
  /** How many parts (fields and files) at most. */
  maxParts: number;
  /** Gets a sink for each file part with a name (empty file inputs are skipped); null skips the part. */
  onFile(part: FilePart): Promise<FileSink | null>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CRLF_CRLF = encoder.encode("\r\n\r\n");
const HEADERS_MAX = 16 * 1024;

/** The boundary of a multipart/form-data Content-Type, or null when it is not one. */
export function multipartBoundary(contentType: string | undefined): string | null {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) return null;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2]!) : null;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  const last = haystack.length - needle.length;
  for (let i = haystack.indexOf(first, from); i !== -1 && i <= last; i = haystack.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

const malformed = () =>
  new ForgeError("bad_request", "The form could not be read (malformed upload); reload the page and send it again.");

interface PartHeaders {
  field: string;
  filename: string | null;
  contentType: string;
}

function parseQuoted(params: string, name: string): string | null {
  const m =
    new RegExp(`(?:^|;)\\s*${name}="((?:[^"\\\\]|\\\\.)*)"`, "i").exec(params) ??
    new RegExp(`(?:^|;)\\s*${name}=([^";\\s]*)`, "i").exec(params);
  return m ? m[1]!.replace(/\\(.)/g, "$1") : null;
}

function parsePartHeaders(bytes: Uint8Array): PartHeaders {
  let disposition = "";
  let contentType = "text/plain";
  for (const line of decoder.decode(bytes).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "content-disposition") disposition = value;
    else if (name === "content-type") contentType = value;
  }
  if (!/^form-data\s*(;|$)/i.test(disposition)) throw malformed();
  const params = disposition.slice(disposition.indexOf(";") + 1);
  const field = parseQuoted(params, "name");
  if (field === null) throw malformed();
  const filename = parseQuoted(params, "filename");
  return { field, filename: filename === null ? null : filename.replace(/^.*[\\/]/, ""), contentType };
}

/**
 * Reads a multipart/form-data body. Returns the text fields (the last value of a repeated name
 * wins), filling `fields` as they arrive (so a caller still has those read before a failure);
 * file parts go to `onFile` sinks as they stream in. Throws a 400 on malformed bodies and a 413
 * when the text fields are too large.
 */
export async function readMultipart(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  opts: MultipartOptions,
  fields: Record<string, string> = {},
): Promise<Record<string, string>> {
  // Every delimiter, the first included, is CRLF "--" boundary once the body is prefixed with CRLF.
  const delimiter = encoder.encode(`\r\n--${boundary}`);
  let fieldBytes = 0;
  let parts = 0;
  let state = "preamble" as "preamble" | "after-delimiter" | "headers" | "body" | "done";
  let buffer: Uint8Array = encoder.encode("\r\n");
  let current: { headers: PartHeaders; sink: FileSink | null; text: Uint8Array[] } | null = null;

  const emit = async (bytes: Uint8Array) => {
    if (!current || bytes.length === 0) return;
    if (current.headers.filename === null) {
      fieldBytes += bytes.length;
      if (fieldBytes > opts.maxFieldBytes) throw new ForgeError("payload_too_large", "The form's text is too long.");
      current.text.push(bytes.slice());
    } else if (current.sink) {
      await current.sink.write(bytes.slice());
    }
  };

  const finishPart = async () => {
    if (!current) return;
    if (current.headers.filename === null) {
      const all = new Uint8Array(current.text.reduce((n, c) => n + c.length, 0));
      let o = 0;
      for (const c of current.text) {
        all.set(c, o);
        o += c.length;
      }
      fields[current.headers.field] = decoder.decode(all);
    } else if (current.sink) {
      await current.sink.end();
    }
    current = null;
  };

  const step = async (): Promise<boolean> => {
    switch (state) {
      case "preamble":
      case "body": {
        const at = indexOf(buffer, delimiter, 0);
        if (at < 0) {
          // Keep a tail that may be the start of a delimiter.
          const keep = Math.min(buffer.length, delimiter.length - 1);
          if (state === "body") await emit(buffer.subarray(0, buffer.length - keep));
          buffer = buffer.subarray(buffer.length - keep);
          return false;
        }
        if (state === "body") {
          await emit(buffer.subarray(0, at));
          await finishPart();
        }
        buffer = buffer.subarray(at + delimiter.length);
        state = "after-delimiter";
        return true;
      }
      case "after-delimiter": {
        if (buffer.length < 2) return false;
        if (buffer[0] === 0x2d && buffer[1] === 0x2d) {
          state = "done";
          return false;
        }
        // Transport padding (spaces, tabs) may follow the boundary before its CRLF.
        let i = 0;
        while (i < buffer.length && (buffer[i] === 0x20 || buffer[i] === 0x09)) i++;
        if (buffer.length < i + 2) return false;
        if (buffer[i] !== 0x0d || buffer[i + 1] !== 0x0a) throw malformed();
        buffer = buffer.subarray(i + 2);
        state = "headers";
        return true;
      }
      case "headers": {
        const at = indexOf(buffer, CRLF_CRLF, 0);
        if (at < 0) {
          if (buffer.length > HEADERS_MAX) throw malformed();
          return false;
        }
        if (++parts > opts.maxParts) throw new ForgeError("bad_request", `A form has at most ${opts.maxParts} fields and files.`);
        const headers = parsePartHeaders(buffer.subarray(0, at));
        buffer = buffer.subarray(at + 4);
        let sink: FileSink | null = null;
        if (headers.filename) {
          sink = await opts.onFile({ field: headers.field, filename: headers.filename, contentType: headers.contentType });
        }
        current = { headers, sink, text: [] };
        state = "body";
        return true;
      }
      case "done":
        return false;
    }
  };

  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (value?.length) {
      const joined = new Uint8Array(buffer.length + value.length);
      joined.set(buffer, 0);
      joined.set(value, buffer.length);
      buffer = joined;
    }
    while (await step()) {
      /* keep parsing what is buffered */
    }
    if (state === "done") {
      await reader.cancel().catch(() => {});
      break;
    }
    if (done) throw malformed();
  }
  return fields;
}
