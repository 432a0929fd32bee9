// Derived work that can wait yields to an upload under way in the same isolate (a push's
// receive-pack, an import): a checkpoint drive's follow-up delivered meanwhile is queued again,
// delayed, with the same drive id, and runs and stores its data once the upload is over; a run
// under way stops at its next step when an upload starts, and queues the next; a follow-up put
// off DRIVE_DEFERRALS_MAX times runs beside the upload anyway. The push worker's import code is
// called directly, its queue replaced by one that keeps the messages, and the edge's consumer run
// on them (the derive step in place: no push worker bound).
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import type { Oid } from "../../src/git/oid";
import { type CheckpointDrive, DRIVE_DEFER_SECONDS, DRIVE_DEFERRALS_MAX } from "../../src/services/checkpoint-drive";
import { readChain } from "../../src/services/commit-graphs";
import { readStored } from "../../src/services/last-commit-store";
import { handlePostPushBatch } from "../../src/services/post-push";
import type { RepoRef } from "../../src/services/repositories";
import { uploadStarted, waitingForUploads } from "../../src/services/upload-activity";
import { r2Keys } from "../../src/storage/keys";
import { apiCall, newForge, tenantD1, type Forge } from "./browser";
import { RepoBuilder } from "./git-fixture";
import { importRecorded } from "./recorded-import";
import { countedBatch } from "./recording-queue";

const env = workerEnv as unknown as Env;

let forge: Forge;
beforeAll(async () => {
  forge = await newForge("uploadyield");
}, 60_000);

/** A new project with `count` commits on main imported; its import's drive message and the queue. */
async function imported(name: string, count: number) {
  expect((await apiCall(forge.host, "POST", "/api/v1/projects", forge.ownerToken, { name })).status).toBe(201);
  const db = await tenantD1(forge);
  const row = await db.prepare("SELECT repo_id FROM projects WHERE name = ?").bind(name).first<{ repo_id: string }>();
  const repo: RepoRef = { tenantId: forge.id, repoId: row!.repo_id };
  const built = new RepoBuilder();
  const commits: Oid[] = [];
  for (let i = 0; i < count; i++)
    commits.push(
      built.commit({ files: { "a.txt": `${i}\n`, [`d/${i % 7}.txt`]: `${i}\n` }, parents: commits.slice(-1), message: `c${i}` }),
    );
  const { queue, consumerEnv } = await importRecorded<CheckpointDrive>(repo, built, [
    { name: "refs/heads/main", oid: commits.at(-1)! },
  ]);
  const [drive, ...more] = queue.take();
  expect(more).toEqual([]);
  return { repo, commits, drive: drive!, queue, consumerEnv };
}

/** The bucket, calling `seen` with the key of each call of `method` before it is made. */
function onCall(method: "get" | "put", seen: (key: string) => void): R2Bucket {
  return new Proxy(env.OBJECTS, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (prop === method) seen(args[0] as string);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

async function deliver(messages: CheckpointDrive[], consumerEnv: Env) {
  const { batch, counts } = countedBatch("edgeforge-post-push", messages);
  await handlePostPushBatch(batch as MessageBatch<never>, consumerEnv);
  return counts;
}

describe("a checkpoint drive beside an upload", () => {
  it("is queued again, delayed, while an upload is under way, and runs and stores its data after it", async () => {
    const { repo, commits, drive, queue, consumerEnv } = await imported("deferred", 20);
    const end = uploadStarted();
    try {
      expect(await deliver([drive], consumerEnv)).toEqual({ acked: 1, retried: 0 });
    } finally {
      end();
    }
    // Nothing derived; the same follow-up (same drive id: still the current one) queued again.
    expect(await readChain(env, repo)).toBeNull();
    expect(await readStored(env, repo, commits[0]!)).toBeNull();
    expect(queue.messages).toEqual([{ ...drive, deferred: 1 }]);
    expect(queue.delays).toEqual([DRIVE_DEFER_SECONDS]);

    // Delivered again with no upload under way: the graph and the checkpoint are written.
    expect(await deliver(queue.take(), consumerEnv)).toEqual({ acked: 1, retried: 0 });
    expect((await readChain(env, repo))?.count).toBe(20);
    expect(await readStored(env, repo, commits[0]!)).toBeTruthy();
    expect(queue.messages).toEqual([]);
  });

  it("runs beside the upload once it was put off as often as it may be", async () => {
    const { repo, commits, drive, queue, consumerEnv } = await imported("patient", 20);
    const end = uploadStarted();
    try {
      await deliver([{ ...drive, deferred: DRIVE_DEFERRALS_MAX }], consumerEnv);
    } finally {
      end();
    }
    expect((await readChain(env, repo))?.count).toBe(20);
    expect(await readStored(env, repo, commits[0]!)).toBeTruthy();
    expect(queue.messages).toEqual([]);
  });

  it("stops at its next checkpoint when an upload starts during its run, and queues the next run", async () => {
    // 520 commits: checkpoints at depths 0, 256 and 512 of main's first-parent chain.
    const { repo, commits, drive, queue, consumerEnv } = await imported("interrupted", 520);
    // The upload starts as the run stores its first checkpoint.
    let end: (() => void) | undefined;
    const checkpoint = r2Keys.lastCommits(repo.tenantId, repo.repoId, commits[0]!);
    const objects = onCall("put", (key) => {
      if (key === checkpoint) end ??= uploadStarted();
    });
    try {
      await deliver([drive], { ...consumerEnv, OBJECTS: objects } as Env);
    } finally {
      end?.();
    }
    expect(end).toBeDefined();
    expect(await readStored(env, repo, commits[0]!)).toBeTruthy();
    expect(await readStored(env, repo, commits[256]!)).toBeNull();
    // The next run is queued at once (a new drive); the upload is over, so it writes the rest.
    const next = queue.take();
    expect(next).toEqual([
      { kind: "checkpoints", tenantId: repo.tenantId, repoId: repo.repoId, tip: commits[519], id: expect.any(String) },
    ]);
    await deliver(next, consumerEnv);
    expect(await readStored(env, repo, commits[256]!)).toBeTruthy();
    expect(await readStored(env, repo, commits[512]!)).toBeTruthy();
    expect(queue.messages).toEqual([]);
  });

  it("waits with its commit-graph build while an upload is under way, and finishes it after", async () => {
    // 520 commits: the build pauses every 256 commits it scans.
    const { repo, commits, drive, consumerEnv } = await imported("paused", 520);
    let end: (() => void) | undefined;
    const objects = onCall("get", (key) => {
      if (key.endsWith(".pack")) end ??= uploadStarted();
    });
    let settled = false;
    const delivered = deliver([drive], { ...consumerEnv, OBJECTS: objects } as Env).finally(() => {
      settled = true;
    });
    try {
      while (!end) await new Promise((resolve) => setTimeout(resolve, 10));
      // A hundred turns later the build still waits: no graph, the delivery not done.
      for (let i = 0; i < 100; i++) await new Promise((resolve) => setTimeout(resolve, 1));
      expect(settled).toBe(false);
      expect(await readChain(env, repo)).toBeNull();
    } finally {
      end?.();
    }
    await delivered;
    expect((await readChain(env, repo))?.count).toBe(520);
    expect(await readStored(env, repo, commits[0]!)).toBeTruthy();
  });

  it("goes on with its graph build as soon as the last upload ends, not at a later poll", async () => {
    const one = uploadStarted();
    const other = uploadStarted();
    const pause = waitingForUploads()();
    let resumed = false;
    void pause.then(() => (resumed = true));
    one();
    // One upload still under way: the build still waits.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
    expect(resumed).toBe(false);
    other();
    // Timers fire in the order of their deadlines: the pause's one turn, set as the upload ends,
    // comes before a timer of 50 ms set then too (a poll every 250 ms from the pause's start, as
    // before, came after it).
    const first = await Promise.race([pause.then(() => "resumed"), new Promise((r) => setTimeout(() => r("timer"), 50))]);
    expect(first).toBe("resumed");
  });
});
