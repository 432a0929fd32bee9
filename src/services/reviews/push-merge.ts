// Writes a merge the way a push does: a receive-pack request (the ref's compare-and-swap command
// and a pack of the new objects) sent to the push worker over the PUSH binding, so the merge gets
// the same checks (protected branches, quota, connectivity) and the same atomic ref update in the
// Repo Durable Object, and the post-push queue hears of it like any push.
import type { Env } from "../../env";
import type { NewObject } from "../../git/merge";
import { smallPack } from "../../git/merge";
import type { Oid } from "../../git/oid";
import { FLUSH, parsePktLines, pkt } from "../../git/pkt-line";
import { ForgeError } from "../../utils/errors";
import { forgetEdgeRefs } from "../repositories";

export interface MergePush {
  tenantId: string;
  repoId: string;
  projectName: string;
  pusher: string;
  maxRepoBytes: number;
  /** Full names of the project's protected branches. */
  protectedRefs: string[];
  ref: string;
  old: Oid;
  next: Oid;
  objects: NewObject[];
  /** A hidden ref (refs/reviews/...): the push worker lets only the forge write those. */
  hidden?: boolean;
}

/** The header by which the edge's own pushes may write hidden refs; the edge drops it from clients' pushes. */
export const HIDDEN_REFS_HEADER = "x-forge-hidden-refs";

/** Pushes the update; resolves when the ref moved, throws with the push worker's reason when refused. */
export async function pushMerge(env: Env, m: MergePush): Promise<void> {
  if (!env.PUSH) throw new ForgeError("unavailable", "Writing to repositories is not available on this forge.");
  const pack = smallPack(m.objects);
  const command = pkt(`${m.old} ${m.next} ${m.ref}\0report-status atomic agent=edgeforge-merge\n`);
  const body = new Uint8Array(command.length + FLUSH.length + pack.length);
  body.set(command, 0);
  body.set(FLUSH, command.length);
  body.set(pack, command.length + FLUSH.length);
  const res = await env.PUSH.fetch(
    new Request(`https://push.internal/${encodeURIComponent(m.projectName)}.git/git-receive-pack`, {
      method: "POST",
      headers: {
        "content-type": "application/x-git-receive-pack-request",
        "x-forge-tenant": m.tenantId,
        "x-forge-repo": m.repoId,
        "x-forge-pusher": m.pusher,
        "x-forge-max-repo-bytes": String(m.maxRepoBytes),
        "x-forge-protected": JSON.stringify(m.protectedRefs),
        ...(m.hidden ? { [HIDDEN_REFS_HEADER]: "write" } : {}),
      },
      body,
    }),
  );
  const text = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200)
    throw new Error(`the push service answered ${res.status}: ${new TextDecoder().decode(text).slice(0, 200)}`);
  const lines = parsePktLines(text).flatMap((l) => (l.kind === "data" ? [l.text] : []));
  const unpack = lines.find((l) => l.startsWith("unpack "));
  const refLine = lines.find((l) => l.endsWith(` ${m.ref}`) || l.includes(` ${m.ref} `));
  if (unpack !== "unpack ok" || !refLine?.startsWith("ok ")) {
    const reason = refLine?.startsWith("ng ") ? refLine.slice(`ng ${m.ref} `.length) : (unpack?.slice(7) ?? "no answer");
    throw new ForgeError(
      "conflict",
      `The ${m.hidden ? "patch series" : "merge"} was refused by the repository: ${reason}. Nothing was changed.`,
    );
  }
  // The refs moved: this data centre's pages (the redirect after a merge) and the next upload read them anew.
  await forgetEdgeRefs({ tenantId: m.tenantId, repoId: m.repoId });
}
