// Reads a patch series as `git format-patch` writes it (an mbox of one or many mails, or one
// .patch file): each patch's author, date, subject (without its "[PATCH n/m]") and message as
// `git am` takes them, and its diff parsed file by file. A cover letter (a mail without a diff)
// gives a title and description, and applies nothing.
import { parsePatch, type StructuredPatch } from "diff";
import { addressParser, decodeWords } from "postal-mime";
import { badRequest, ForgeError } from "../../utils/errors";

/** Largest series accepted (bytes of the upload). */
export const SERIES_MAX_BYTES = 1024 * 1024;
/** Most patches in one series. */
export const SERIES_MAX_PATCHES = 100;

export interface PatchAuthor {
  name: string;
  email: string;
  /** Epoch seconds. */
  time: number;
  /** git's zone, "+0100". */
  tz: string;
}

/** One file's change; paths without git's a/ and b/ (null: the file does not exist on that side). */
export interface FileChange {
  oldPath: string | null;
  newPath: string | null;
  oldMode: string | null;
  newMode: string | null;
  /** The hunks, their lines in "binary" strings (one char a byte) so that any encoding survives. */
  patch: StructuredPatch;
}

export interface ParsedPatch {
  /** 1-based place in the series. */
  number: number;
  subject: string;
  /** The commit message: subject, blank line, body. */
  message: string;
  author: PatchAuthor | null;
  files: FileChange[];
}

export interface ParsedSeries {
  cover: { subject: string; body: string } | null;
  patches: ParsedPatch[];
}

const utf8 = new TextDecoder();
/** Bytes as a string of one char a byte (latin1), and back: file contents stay byte-exact. */
export const bytesToBinary = (b: Uint8Array): string => {
  // Chunks joined once: appending them one by one is ten times slower on a large file. (No
  // TextDecoder: its "latin1" is windows-1252, which is not one char a byte.)
  const parts: string[] = [];
  for (let i = 0; i < b.length; i += 8192)
    parts.push(String.fromCharCode.apply(null, b.subarray(i, i + 8192) as unknown as number[]));
  return parts.join("");
};
export const binaryToBytes = (s: string): Uint8Array => {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
};
const binaryToText = (s: string) => utf8.decode(binaryToBytes(s));

/** Parses an uploaded series; throws a 4xx naming the patch when something cannot be read. */
export function parseSeries(input: Uint8Array): ParsedSeries {
  if (input.length > SERIES_MAX_BYTES)
    throw new ForgeError(
      "payload_too_large",
      `The patch series is ${input.length} bytes; the limit is ${SERIES_MAX_BYTES} (1 MiB). Send a smaller series, or push a branch.`,
    );
  const raw = bytesToBinary(input);
  if (!raw.trim()) throw badRequest("The patch series is empty: upload the output of git format-patch.");
  // format-patch starts each mail with "From <commit id> Mon Sep 17 00:00:00 2001".
  const mails = raw.split(/^(?=From [0-9a-f]{40} )/m).filter((m) => m.trim());
  if (mails.length > SERIES_MAX_PATCHES + 1)
    throw badRequest(`The series has ${mails.length} mails; at most ${SERIES_MAX_PATCHES} patches are taken at once.`);
  let cover: ParsedSeries["cover"] = null;
  const patches: ParsedPatch[] = [];
  for (const mail of mails) {
    const m = readMail(mail);
    if (m.diff === null) {
      if (cover || patches.length || mails.length === 1)
        throw badRequest(`"${m.subject || "A mail"}" has no diff: a series is git format-patch output, one diff per mail.`);
      cover = { subject: m.subject, body: m.body };
      continue;
    }
    const number = patches.length + 1;
    const name = `Patch ${number}${m.subject ? ` ("${m.subject}")` : ""}`;
    patches.push({
      number,
      subject: m.subject,
      message: m.body ? `${m.subject}\n\n${m.body}\n` : `${m.subject}\n`,
      author: m.author,
      files: readDiff(m.diff, name),
    });
  }
  if (!patches.length) throw badRequest("The series has no patches: upload the output of git format-patch.");
  return { cover, patches };
}

interface Mail {
  subject: string;
  body: string;
  author: PatchAuthor | null;
  diff: string | null;
}

function readMail(mail: string): Mail {
  let text = mail.replace(/^From [0-9a-f]{40} .*\n/, "");
  let headers = new Map<string, string>();
  // A bare diff (no mail headers at all) is one patch whose author and message come from the form.
  if (/^[A-Za-z-]+: /.test(text)) {
    const end = text.indexOf("\n\n");
    headers = readHeaders(end < 0 ? text : text.slice(0, end));
    text = end < 0 ? "" : text.slice(end + 2);
  }
  const encoding = (headers.get("content-transfer-encoding") ?? "8bit").toLowerCase();
  if (!["7bit", "8bit", "binary"].includes(encoding))
    throw badRequest(`A mail of the series is ${encoding}-encoded: upload the files git format-patch wrote, not mails as sent.`);
  // In-body headers (git format-patch --from, or a forwarded patch) override the mail's own.
  const inBody = /^((?:(?:From|Date|Subject): .*\n)+)\n/.exec(text);
  if (inBody) {
    for (const [k, v] of readHeaders(inBody[1]!)) headers.set(k, v);
    text = text.slice(inBody[0].length);
  }
  const subject = cleanSubject(decodeHeader(headers.get("subject") ?? ""));
  const at = /^diff --git /m.exec(text);
  const before = at ? text.slice(0, at.index) : text;
  // The message ends at format-patch's "---" line (the diffstat follows it).
  const sep = /^---\s*$/m.exec(before);
  const body = binaryToText(sep ? before.slice(0, sep.index) : before)
    .replace(/[ \t]+$/gm, "")
    .trim();
  const diff = at ? text.slice(at.index) : null;
  return { subject, body, author: readAuthor(headers), diff };
}

function readHeaders(block: string): Map<string, string> {
  const out = new Map<string, string>();
  // Folded lines continue the header before them.
  for (const line of block.replace(/\n[ \t]+/g, " ").split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) out.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return out;
}

/** RFC 2047 encoded words decoded; raw 8-bit header bytes read as UTF-8. */
const decodeHeader = (v: string) => decodeWords(binaryToText(v));

/** git am's subject: without leading "Re:" and bracketed tags such as "[PATCH v2 3/7]". */
function cleanSubject(s: string): string {
  let t = s.replace(/\s+/g, " ").trim();
  for (;;) {
    const next = t.replace(/^(\[[^\]]*\]|re:)\s*/i, "");
    if (next === t) return t;
    t = next;
  }
}

function readAuthor(headers: Map<string, string>): PatchAuthor | null {
  const from = headers.get("from");
  if (!from) return null;
  const [addr] = addressParser(decodeHeader(from));
  const email = addr && "address" in addr ? (addr.address ?? "") : "";
  if (!email) return null;
  const name = (addr?.name || email.split("@")[0] || "").replace(/^"|"$/g, "");
  return { name, email, ...readDate(headers.get("date")) };
}

/** RFC 2822 date with its zone, as git keeps it; no date (a bare diff) is the epoch, replaced by the caller. */
function readDate(v: string | undefined): { time: number; tz: string } {
  if (!v) return { time: 0, tz: "+0000" };
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw badRequest(`The date "${v.slice(0, 60)}" of a patch cannot be read.`);
  const zone = /([+-])(\d{2})(\d{2})\s*(\(.*\))?$/.exec(v.trim());
  return { time: Math.floor(ms / 1000), tz: zone ? `${zone[1]}${zone[2]}${zone[3]}` : "+0000" };
}

/**
 * format-patch ends each mail with "-- " and git's version, not part of the diff. Hunks are read by
 * their line counts, so the signature only disturbs a diff whose last hunk it follows: it is cut
 * then, and only then (a last hunk line "-- ", removing "- ", stays).
 */
function parseDiff(diff: string): StructuredPatch[] {
  try {
    return parsePatch(diff);
  } catch (err) {
    const cut = diff.replace(/\n-- \n[^\n]*\n*$/, "\n");
    if (cut === diff) throw err;
    return parsePatch(cut);
  }
}

function readDiff(diff: string, name: string): FileChange[] {
  if (/^GIT binary patch$|^Binary files .* differ$/m.test(diff))
    throw badRequest(`${name} changes a binary file: binary patches are not taken. Push a branch instead.`);
  let parsed: StructuredPatch[];
  try {
    parsed = parseDiff(diff);
  } catch (err) {
    throw badRequest(`${name} has a diff that cannot be read (${(err as Error).message}).`);
  }
  return parsed.map((p) => {
    // A new or deleted empty file has no ---/+++ lines: git's header names it on both sides.
    const oldPath = p.isCreate ? null : stripPrefix(p.oldFileName, "a/");
    const newPath = p.isDelete ? null : stripPrefix(p.newFileName, "b/");
    if (oldPath === null && newPath === null) throw badRequest(`${name} has a diff without file names.`);
    if ([p.oldMode, p.newMode].includes("160000"))
      throw badRequest(`${name} changes a submodule (${newPath ?? oldPath}): submodule patches are not taken.`);
    return {
      oldPath,
      newPath,
      oldMode: p.oldMode ?? null,
      newMode: p.newMode ?? null,
      patch: p,
    };
  });
}

function stripPrefix(file: string | undefined, prefix: string): string | null {
  if (!file || file === "/dev/null") return null;
  const path = binaryToText(file.startsWith(prefix) ? file.slice(prefix.length) : file);
  if (path.split("/").some((s) => !s || s === "." || s === ".." || s === ".git"))
    throw badRequest(`"${path}" is not a path a patch may touch.`);
  return path;
}
