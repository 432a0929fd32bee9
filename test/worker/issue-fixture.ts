// Pushing commits with chosen messages in the workerd tests: objects and a pack built by hand, sent
// through the edge's git-receive-pack like a git client would (Basic auth with an API token).
import { hashObject, hexToBytes, sha1, ZERO_OID, type ObjectType } from "../../src/git/oid";
import { encodeEntryHeader, packHeader, typeNumber } from "../../src/git/pack-format";
import { pkt, FLUSH } from "../../src/git/pkt-line";
import { deflate } from "../../src/git/zlib";
import { concatBytes } from "../../src/utils/bytes";
import { edge } from "./helpers";

const enc = new TextEncoder();

interface Obj {
  type: ObjectType;
  data: Uint8Array;
  oid: string;
}

const obj = (type: ObjectType, data: Uint8Array): Obj => ({ type, data, oid: hashObject(type, data) });

function buildPack(objects: Obj[]): Uint8Array {
  const body = concatBytes([
    packHeader(objects.length),
    ...objects.map((o) => concatBytes([encodeEntryHeader(typeNumber(o.type), o.data.length), deflate(o.data)])),
  ]);
  return concatBytes([body, new Uint8Array(sha1().update(body).digest())]);
}

let clock = 1_800_000_000;

/** A commit whose single file holds `content`, with `message`, on top of `parent`. */
export function makeCommit(message: string, parent: string | null, content = message): { oid: string; objects: Obj[] } {
  const blob = obj("blob", enc.encode(`${content}\n`));
  const tree = obj("tree", concatBytes([enc.encode("100644 file.txt\0"), hexToBytes(blob.oid)]));
  const who = `Test Author <author@example.com> ${clock++} +0000`;
  const text = `tree ${tree.oid}\n${parent ? `parent ${parent}\n` : ""}author ${who}\ncommitter ${who}\n\n${message}\n`;
  const commit = obj("commit", enc.encode(text));
  return { oid: commit.oid, objects: [blob, tree, commit] };
}

/**
 * Pushes `commits` (oldest first, each on the previous one, the first on `from`) to `ref`. Resolves
 * with the new tip and git's report (status lines), so callers can check refused pushes too.
 */
export async function pushMessages(
  host: string,
  project: string,
  auth: { username: string; token: string },
  messages: string[],
  opts: { from?: string | null; ref?: string; old?: string } = {},
): Promise<{ tip: string; status: number; report: string }> {
  const ref = opts.ref ?? "refs/heads/main";
  let parent = opts.from ?? null;
  const objects: Obj[] = [];
  for (const m of messages) {
    const c = makeCommit(m, parent);
    objects.push(...c.objects);
    parent = c.oid;
  }
  const old = opts.old ?? opts.from ?? ZERO_OID;
  const body = concatBytes([pkt(`${old} ${parent} ${ref}\0report-status agent=edgeforge-test\n`), FLUSH, buildPack(objects)]);
  const res = await edge(`http://${host}/${project}.git/git-receive-pack`, {
    method: "POST",
    headers: {
      authorization: `Basic ${btoa(`${auth.username}:${auth.token}`)}`,
      "content-type": "application/x-git-receive-pack-request",
    },
    body,
  });
  const report = new TextDecoder().decode(await res.arrayBuffer());
  return { tip: parent!, status: res.status, report };
}
