// An import queues the derived data a push queues (the commit-graph, then the default branch's
// last-commit checkpoints), once per repository, so that the history is ready before anyone visits
// a page: the push worker's import code called directly, its queue replaced by one that keeps the
// messages, and the edge's consumer run on them.
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import type { Oid } from "../../src/git/oid";
import { readChain } from "../../src/services/commit-graphs";
import { handlePostPushBatch } from "../../src/services/post-push";
import { readStored } from "../../src/services/last-commit-store";
import { apiCall, newForge, tenantD1, type Forge } from "./browser";
import { RepoBuilder } from "./git-fixture";
import { importRecorded } from "./recorded-import";
import { countedBatch } from "./recording-queue";

const env = workerEnv as unknown as Env;

let forge: Forge;
beforeAll(async () => {
  forge = await newForge("impderive");
}, 60_000);

describe("an import", () => {
  it("queues one derive message for its repository, which builds the graph and the checkpoints", async () => {
    expect((await apiCall(forge.host, "POST", "/api/v1/projects", forge.ownerToken, { name: "imported" })).status).toBe(201);
    const db = await tenantD1(forge);
    const row = await db.prepare("SELECT repo_id FROM projects WHERE name = ?").bind("imported").first<{ repo_id: string }>();
    const repo = { tenantId: forge.id, repoId: row!.repo_id };

    const built = new RepoBuilder();
    const commits: Oid[] = [];
    for (let i = 0; i < 20; i++)
      commits.push(built.commit({ files: { "a.txt": `${i}\n` }, parents: commits.slice(-1), message: `c${i}` }));
    const side = built.commit({ files: { "b.txt": "side\n" }, parents: [commits[9]!], message: "side" });
    const { queue, consumerEnv } = await importRecorded<unknown>(repo, built, [
      { name: "refs/heads/main", oid: commits[19]! },
      { name: "refs/heads/side", oid: side },
    ]);

    // Exactly one message, for the default branch's tip (one chain per repository, as a push's).
    const queued = queue.take();
    expect(queued).toEqual([
      { kind: "checkpoints", tenantId: repo.tenantId, repoId: repo.repoId, tip: commits[19], id: expect.any(String) },
    ]);
    expect(await readChain(env, repo)).toBeNull();

    // Delivered (derived in place: no push worker), it builds the graph and the checkpoints.
    const { batch, counts } = countedBatch("edgeforge-post-push", queued);
    await handlePostPushBatch(batch as MessageBatch<never>, consumerEnv);
    expect(counts.acked).toBe(1);
    expect((await readChain(env, repo))?.count).toBe(21);
    // The checkpoint at depth 0 (the root: 21 commits make one).
    expect(await readStored(env, repo, commits[0]!)).toBeTruthy();
    expect(queue.messages).toHaveLength(0);
  });
});
