// Git repositories built in memory for the workerd tests: objects, commits of whole file maps,
// a pack of them, imported through the admin API or pushed through git's receive-pack.
import { hashObject, hexToBytes, sha1, type ObjectType, type Oid } from "../../src/git/oid";
import { createDelta } from "../../src/git/delta-encode";
import { encodeEntryHeader, OBJ_REF_DELTA, packHeader, typeNumber } from "../../src/git/pack-format";
import { deflate } from "../../src/git/zlib";
import { pkt, FLUSH } from "../../src/git/pkt-line";
import { concatBytes as concat } from "../../src/utils/bytes";
import { ADMIN_HOST, ADMIN_TOKEN, admin, edge } from "./helpers";

const encoder = new TextEncoder();

export type FileMap = Record<string, string | Uint8Array | { data: string | Uint8Array; mode: string }>;

interface Stored {
  type: ObjectType;
  data: Uint8Array;
}

export class RepoBuilder {
  readonly objects = new Map<Oid, Stored>();
  private clock = 1_700_000_000;

  put(type: ObjectType, data: Uint8Array): Oid {
    const oid = hashObject(type, data);
    this.objects.set(oid, { type, data });
    return oid;
  }

  blob(content: string | Uint8Array): Oid {
    return this.put("blob", typeof content === "string" ? encoder.encode(content) : content);
  }

  /** A tree of entries (name -> [mode, oid]) in git's order. */
  tree(entries: Record<string, [string, Oid]>): Oid {
    const names = Object.keys(entries).sort((a, b) => {
      const ka = entries[a]![0] === "40000" ? `${a}/` : a;
      const kb = entries[b]![0] === "40000" ? `${b}/` : b;
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    const parts: Uint8Array[] = [];
    for (const n of names) {
      const [mode, oid] = entries[n]!;
      parts.push(encoder.encode(`${mode} ${n}\0`), hexToBytes(oid));
    }
    return this.put("tree", concat(parts));
  }

  /** The root tree of a whole file map (paths with slashes make directories). */
  files(files: FileMap): Oid {
    const build = (prefix: string): Oid => {
      const entries: Record<string, [string, Oid]> = {};
      const dirs = new Set<string>();
      for (const [path, value] of Object.entries(files)) {
        if (!path.startsWith(prefix)) continue;
        const rest = path.slice(prefix.length);
        const slash = rest.indexOf("/");
        if (slash >= 0) dirs.add(rest.slice(0, slash));
        else {
          const v = typeof value === "string" || value instanceof Uint8Array ? { data: value, mode: "100644" } : value;
          entries[rest] = [v.mode, this.blob(v.data)];
        }
      }
      for (const d of dirs) entries[d] = ["40000", build(`${prefix}${d}/`)];
      return this.tree(entries);
    };
    return build("");
  }

  commit(opts: { files: FileMap; parents?: Oid[]; message: string; author?: string; time?: number }): Oid {
    const tree = this.files(opts.files);
    const time = opts.time ?? (this.clock += 60);
    const who = `${opts.author ?? "Ada Lovelace"} <${(opts.author ?? "ada").toLowerCase().replace(/\s+/g, ".")}@example.com> ${time} +0000`;
    const lines = [
      `tree ${tree}`,
      ...(opts.parents ?? []).map((p) => `parent ${p}`),
      `author ${who}`,
      `committer ${who}`,
      "",
      opts.message,
    ];
    return this.put("commit", encoder.encode(`${lines.join("\n")}\n`));
  }

  /**
   * A pack of every object built so far (or just `only`), each stored whole, except the objects
   * `deltas` names: those are REF_DELTA entries against the given base, written before all
   * others, so their bases come later in the pack (as in a thin pack completed with its bases).
   */
  pack(only?: Iterable<Oid>, opts: { deltas?: Record<Oid, Oid> } = {}): { pack: Uint8Array; checksum: string } {
    const deltas = opts.deltas ?? {};
    const all = only ? [...only] : [...this.objects.keys()];
    const oids = [...all.filter((o) => o in deltas), ...all.filter((o) => !(o in deltas))];
    const parts: Uint8Array[] = [packHeader(oids.length)];
    for (const oid of oids) {
      const o = this.objects.get(oid)!;
      const base = deltas[oid];
      if (base) {
        const delta = createDelta(this.objects.get(base)!.data, o.data);
        if (!delta) throw new Error(`no delta of ${oid} against ${base}`);
        parts.push(encodeEntryHeader(OBJ_REF_DELTA, delta.length), hexToBytes(base), deflate(delta));
      } else parts.push(encodeEntryHeader(typeNumber(o.type), o.data.length), deflate(o.data));
    }
    const body = concat(parts);
    const digest = new Uint8Array(sha1().update(body).digest());
    return { pack: concat([body, digest]), checksum: [...digest].map((b) => b.toString(16).padStart(2, "0")).join("") };
  }
}

/** Creates a project and imports everything `repo` holds with the given refs. */
export async function importRepo(
  slug: string,
  project: string,
  repo: RepoBuilder,
  refs: Record<string, Oid>,
  opts: { head?: string; private?: boolean; deltas?: Record<Oid, Oid> } = {},
): Promise<void> {
  let res = await admin("POST", `/api/v1/tenants/${slug}/projects`, { name: project, private: opts.private ?? false });
  if (res.status !== 201) throw new Error(`create project: ${res.status} ${await res.text()}`);
  const { pack, checksum } = repo.pack(undefined, { deltas: opts.deltas });
  const base = `/api/v1/tenants/${slug}/projects/${project}/imports`;
  res = await admin("POST", base, {
    size: pack.length,
    checksum,
    refs: Object.entries(refs).map(([name, oid]) => ({ name, oid })),
    head: opts.head ?? Object.keys(refs)[0]!,
  });
  if (res.status !== 201) throw new Error(`start import: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  res = await edge(`http://${ADMIN_HOST}${base}/${id}/parts/1`, {
    method: "PUT",
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      "content-type": "application/octet-stream",
      "content-length": String(pack.length),
    },
    body: pack,
  });
  if (res.status !== 200) throw new Error(`upload part: ${res.status} ${await res.text()}`);
  res = await admin("POST", `${base}/${id}/complete`);
  if (res.status !== 200) throw new Error(`complete import: ${res.status} ${await res.text()}`);
}

/** Pushes `objects` and moves `ref` from `old` to `next` through git's receive-pack, as `git push` does. */
export async function pushRef(
  host: string,
  project: string,
  token: string,
  repo: RepoBuilder,
  objects: Oid[],
  ref: string,
  old: Oid,
  next: Oid,
): Promise<Response> {
  const { pack } = repo.pack(objects);
  const body = concat([pkt(`${old} ${next} ${ref}\0report-status\n`), FLUSH, pack]);
  return edge(`http://${host}/${project}.git/git-receive-pack`, {
    method: "POST",
    headers: {
      "content-type": "application/x-git-receive-pack-request",
      authorization: `Basic ${btoa(`owner:${token}`)}`,
    },
    body,
  });
}
