// git-receive-pack over HTTP, the protocol side: advertisement, the command list and push
// options of a request, and the report-status answer (protocol v0/v1; git pushes no other way).
import { protocolError } from "./errors";
import { OID_HEX, ZERO_OID, type Oid } from "./oid";
import { FLUSH, pkt, PktStreamReader, type PktLine } from "./pkt-line";
import { AGENT } from "./upload-pack";
import { concatBytes } from "../utils/bytes";

const RECEIVE_CAPABILITIES = [
  "report-status",
  "report-status-v2",
  "delete-refs",
  "side-band-64k",
  "quiet",
  "atomic",
  "ofs-delta",
  "push-options",
  "object-format=sha1",
  `agent=${AGENT}`,
];

/** Body of GET info/refs?service=git-receive-pack. */
export function advertiseReceivePack(refs: { name: string; oid: Oid }[], version: 0 | 1): Uint8Array {
  const parts = [pkt("# service=git-receive-pack\n"), FLUSH];
  if (version === 1) parts.push(pkt("version 1\n"));
  const caps = RECEIVE_CAPABILITIES.join(" ");
  const lines = refs.map((r) => `${r.oid} ${r.name}`);
  if (lines.length === 0) lines.push(`${ZERO_OID} capabilities^{}`);
  lines.forEach((line, i) => {
    parts.push(pkt(i === 0 ? `${line}\0${caps}\n` : `${line}\n`));
  });
  parts.push(FLUSH);
  return concatBytes(parts);
}

export interface Command {
  old: Oid;
  new: Oid;
  name: string;
}

export interface PushRequest {
  commands: Command[];
  capabilities: Set<string>;
  options: string[];
  /** The pack that follows the commands (absent when every command deletes). */
  pack: ReadableStream<Uint8Array> | null;
  /** Bytes of the body before the pack (commands and push options): Content-Length minus this is the pack's size. */
  headBytes: number;
}

const MAX_COMMANDS = 10_000;

/** Reads the commands (and push options) at the head of a receive-pack request body. */
export async function readPushRequest(body: ReadableStream<Uint8Array>): Promise<PushRequest> {
  const reader = new PktStreamReader(body);
  const commands: Command[] = [];
  let capabilities = new Set<string>();
  let headBytes = 0;
  const size = (line: PktLine | null) => (line === null ? 0 : line.kind === "data" ? line.data.length + 4 : 4);
  for (;;) {
    const line = await reader.next();
    headBytes += size(line);
    if (line === null || line.kind === "flush") break;
    if (line.kind !== "data") throw protocolError("unexpected packet in the command list");
    let text = line.text;
    const nul = text.indexOf("\0");
    if (nul >= 0) {
      if (commands.length === 0)
        capabilities = new Set(
          text
            .slice(nul + 1)
            .split(" ")
            .filter(Boolean),
        );
      text = text.slice(0, nul);
    }
    if (text.startsWith("shallow ")) throw protocolError("pushing from a shallow repository is not supported");
    const m = /^([0-9a-f]{40}) ([0-9a-f]{40}) (.+)$/.exec(text);
    if (!m || !OID_HEX.test(m[1]!) || !OID_HEX.test(m[2]!)) throw protocolError(`bad command "${text.slice(0, 200)}"`);
    commands.push({ old: m[1]!, new: m[2]!, name: m[3]! });
    if (commands.length > MAX_COMMANDS) throw protocolError(`more than ${MAX_COMMANDS} ref updates in one push`);
  }
  const options: string[] = [];
  if (commands.length && capabilities.has("push-options")) {
    for (;;) {
      const line = await reader.next();
      headBytes += size(line);
      if (line === null || line.kind === "flush") break;
      if (line.kind === "data") options.push(line.text);
    }
  }
  const needsPack = commands.some((c) => c.new !== ZERO_OID);
  return { commands, capabilities, options, pack: needsPack ? reader.rest() : null, headBytes };
}

export interface CommandResult {
  name: string;
  /** null when the update was applied; else the reason shown to the user. */
  error: string | null;
}

/** The report-status (or -v2) lines: "unpack ok|<reason>", then "ok <ref>" or "ng <ref> <reason>". */
export function reportLines(unpackError: string | null, results: CommandResult[]): string[] {
  return [
    unpackError ? `unpack ${unpackError}` : "unpack ok",
    ...results.map((r) => (r.error ? `ng ${r.name} ${r.error}` : `ok ${r.name}`)),
  ];
}
