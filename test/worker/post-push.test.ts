// Post-push work in workerd, with the push worker's receive-pack called directly and its queue
// replaced by one that keeps the messages and enforces the Queues limits (128 KB a message; 100
// messages and 256 KB a batch). The consumer then runs on exactly those messages, in the order a
// test chooses: a push of 3,000 refs is split and fully processed, and a commit pushed to a second
// branch before the first push's event was processed still closes its issue, once.
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { handlePostPushBatch } from "../../src/services/post-push";
import { receivePack, type PushContext } from "../../src/push/receive";
import { splitPushedEvent } from "../../src/push/notify";
import type { PushedEvent } from "../../src/services/push-events";
import { ZERO_OID, type Oid } from "../../src/git/oid";
import { FLUSH, pkt } from "../../src/git/pkt-line";
import { concatBytes } from "../../src/utils/bytes";
import { readChain } from "../../src/services/commit-graphs";
import { bloomKeysOf, filterMayContain } from "../../src/git/bloom";
import { apiCall, newForge, tenantD1, type Forge } from "./browser";
import { pushRef, RepoBuilder } from "./git-fixture";
import { drainPostPush } from "./helpers";
import { readStored } from "../../src/services/last-commit-store";
import { CHECKPOINT_INTERVAL } from "../../src/services/last-commit-checkpoints";
import { runLastCommitsWalk } from "../../src/services/last-commits";
import { r2Keys } from "../../src/storage/keys";
import { countedBatch, RecordingQueue } from "./recording-queue";

const env = workerEnv as unknown as Env;
const encoder = new TextEncoder();

/** What miniflare's queue broker enforces (message 128,000 bytes; batch 100 messages). */
const MESSAGE_LIMIT = 128_000;
const BATCH_LIMIT = 256_000;

/** Runs the edge's queue consumer on `events`; resolves with how many were acked. */
async function consume(events: PushedEvent[], consumerEnv = env): Promise<{ acked: number; retried: number }> {
  const { batch, counts } = countedBatch("edgeforge-post-push", events);
  await handlePostPushBatch(batch, consumerEnv);
  return counts;
}

let forge: Forge;
/** The limits above, on what one send may carry: a send over them is refused, as the broker refuses it. */
function withinQueueLimits(bodies: PushedEvent[]): void {
  const sizes = bodies.map((b) => encoder.encode(JSON.stringify(b)).length);
  if (sizes.some((s) => s > MESSAGE_LIMIT)) throw new Error(`message over ${MESSAGE_LIMIT} bytes (${Math.max(...sizes)})`);
  if (bodies.length > 100 || sizes.reduce((a, b) => a + b, 0) > BATCH_LIMIT) throw new Error("batch over the limits");
}
/** Push events, and the checkpoint build's follow-ups (services/checkpoint-drive.ts). */
const queue = new RecordingQueue<PushedEvent>(withinQueueLimits);
const pushEnv = { ...env, POST_PUSH: queue as unknown as Queue } as Env;

async function newProject(name: string): Promise<{ repoId: string }> {
  expect((await apiCall(forge.host, "POST", "/api/v1/projects", forge.ownerToken, { name })).status).toBe(201);
  for (const title of ["Crash on start", "Slow search"]) {
    expect((await apiCall(forge.host, "POST", `/api/v1/projects/${name}/issues`, forge.ownerToken, { title })).status).toBe(201);
  }
  const db = await tenantD1(forge);
  const row = await db.prepare("SELECT repo_id FROM projects WHERE name = ?").bind(name).first<{ repo_id: string }>();
  return { repoId: row!.repo_id };
}

/** Sends one receive-pack request straight to the push worker's code; resolves with git's report. */
async function push(
  repoId: string,
  repo: RepoBuilder,
  objects: Oid[],
  commands: { name: string; old: Oid; new: Oid }[],
): Promise<string> {
  const ctx: PushContext = {
    repo: { tenantId: forge.id, repoId },
    pusher: "owner",
    maxRepoBytes: 2 * 1024 ** 3,
    protectedRefs: new Set(),
  };
  const lines = commands.map((c, i) => pkt(`${c.old} ${c.new} ${c.name}${i === 0 ? "\0report-status" : ""}\n`));
  const body = concatBytes([...lines, FLUSH, repo.pack(objects).pack]);
  const res = await receivePack(pushEnv, ctx, new Request("http://push/code.git/git-receive-pack", { method: "POST", body }));
  return new TextDecoder().decode(await res.arrayBuffer());
}

interface IssueJson {
  state: string;
}
const issue = async (project: string, n: number) =>
  (await (await apiCall(forge.host, "GET", `/api/v1/projects/${project}/issues/${n}`)).json()) as IssueJson;
const linked = async (project: string, n: number, oid: Oid) => {
  const res = await apiCall(forge.host, "GET", `/api/v1/projects/${project}/issues/${n}/comments?limit=100`);
  return ((await res.json()) as { body: string }[]).filter((c) => c.body.includes(oid));
};

beforeAll(async () => {
  forge = await newForge("postpush");
}, 60_000);

describe("post-push events", () => {
  it("extends the repository's commit-graph with the pushed commits, and only those", async () => {
    const { repoId } = await newProject("graph");
    const repoRef = { tenantId: forge.id, repoId };
    const repo = new RepoBuilder();
    const a = repo.commit({ files: { "README.md": "a\n", "src/deep/x.txt": "x\n" }, message: "A" });
    const b = repo.commit({ files: { "README.md": "b\n", "src/deep/x.txt": "x\n" }, parents: [a], message: "B" });
    const first = new Set(repo.objects.keys());
    expect(await push(repoId, repo, [...first], [{ name: "refs/heads/main", old: ZERO_OID, new: b }])).toContain(
      "ok refs/heads/main",
    );
    expect(await readChain(env, repoRef)).toBeNull();
    expect(await consume(queue.take())).toEqual({ acked: 1, retried: 0 });
    const before = (await readChain(env, repoRef))!;
    expect(before.count).toBe(2);
    const c = repo.commit({ files: { "README.md": "b\n", "src/deep/x.txt": "y\n" }, parents: [b], message: "C" });
    const fresh = [...repo.objects.keys()].filter((o) => !first.has(o));
    expect(await push(repoId, repo, fresh, [{ name: "refs/heads/main", old: b, new: c }])).toContain("ok refs/heads/main");
    expect(await consume(queue.take())).toEqual({ acked: 1, retried: 0 });
    const after = (await readChain(env, repoRef))!;
    expect(after.count).toBe(3);
    // The first two keep their positions; the new commit comes after its parent.
    for (const oid of [a, b]) expect(await after.find(oid)).toBe(await before.find(oid));
    const pos = await after.find(c);
    expect(pos).toBe(2);
    expect((await after.commit(pos)).generation).toBe(3);
    const filter = await after.filter(pos);
    expect(filterMayContain(filter, bloomKeysOf("src/deep/x.txt"))).toBe(true);
    expect(filterMayContain(filter, bloomKeysOf("README.md"))).toBe(false);
  });

  it("splits a push of 3,000 refs into messages under the queue's limits, and the consumer does all of it", async () => {
    const { repoId } = await newProject("many");
    const repo = new RepoBuilder();
    const base = repo.commit({ files: { "README.md": "hello\n" }, message: "Initial commit" });
    const fix = repo.commit({ files: { "README.md": "hello, fixed\n" }, parents: [base], message: "Fix the crash\n\nFixes #1" });
    const names = Array.from({ length: 2_999 }, (_, i) => `refs/heads/topic-${String(i).padStart(4, "0")}`);
    const commands = [
      { name: "refs/heads/main", old: ZERO_OID, new: base },
      ...names.map((name) => ({ name, old: ZERO_OID, new: base })),
    ];
    commands[commands.length - 1] = { name: "refs/heads/zz-fix", old: ZERO_OID, new: fix }; // in the last part
    const report = await push(repoId, repo, [...repo.objects.keys()], commands);
    expect(report).toContain("unpack ok");
    expect(report).toContain("ok refs/heads/zz-fix");

    const events = queue.take();
    expect(events.length).toBeGreaterThan(1);
    expect(events.flatMap((e) => e.updates)).toHaveLength(3_000);
    expect(events.map((e) => e.part?.index)).toEqual(events.map((_, i) => i));
    expect(new Set(events.map((e) => e.part?.id)).size).toBe(1);
    expect(events.every((e) => e.part?.count === events.length && e.part?.refs === 3_000)).toBe(true);
    expect(events[events.length - 1]!.updates.at(-1)).toMatchObject({ name: "refs/heads/zz-fix", new: fix });

    expect(await consume(events)).toEqual({ acked: events.length, retried: 0 });
    expect(await issue("many", 1)).toMatchObject({ state: "closed" });
    expect(await linked("many", 1, fix)).toHaveLength(1);
    const db = await tenantD1(forge);
    const { results } = await db
      .prepare("SELECT title FROM events e JOIN projects p ON p.id = e.project_id WHERE p.name = 'many' AND e.kind = 'push'")
      .all<{ title: string }>();
    expect(results.map((r) => r.title)).toEqual([expect.stringMatching(/^owner pushed 3000 refs: main, topic-0000/)]);
    // Delivered again: nothing changes.
    expect(await consume(events)).toEqual({ acked: events.length, retried: 0 });
    expect(await linked("many", 1, fix)).toHaveLength(1);
  });

  it("keeps every part under the limit, trimming the known tips rather than the updates", () => {
    const hex = (i: number) => i.toString(16).padStart(40, "0");
    const event: PushedEvent = {
      tenantId: "t",
      repoId: "r",
      pusher: "owner",
      at: new Date(0).toISOString(),
      updates: Array.from({ length: 10_000 }, (_, i) => ({
        name: `refs/tags/v${i}-${"x".repeat(200)}`,
        old: ZERO_OID,
        new: hex(i),
      })),
      known: Array.from({ length: 5_000 }, (_, i) => hex(i + 1)),
    };
    const parts = splitPushedEvent(event);
    for (const p of parts) expect(encoder.encode(JSON.stringify(p)).length).toBeLessThanOrEqual(96_000);
    expect(parts.flatMap((p) => p.updates)).toEqual(event.updates);
    expect(parts[0]!.known!.length).toBeGreaterThan(0);
    expect(splitPushedEvent({ ...event, updates: event.updates.slice(0, 3), known: [] })).toHaveLength(1);
  });

  it("closes an issue once when its fix reaches a second branch before the first push's event is processed", async () => {
    const { repoId } = await newProject("race");
    const repo = new RepoBuilder();
    const base = repo.commit({ files: { "a.txt": "a\n" }, message: "Initial commit" });
    expect(await push(repoId, repo, [...repo.objects.keys()], [{ name: "refs/heads/main", old: ZERO_OID, new: base }])).toContain(
      "ok refs/heads/main",
    );
    await consume(queue.take());

    // The second push's event is processed first, then the first's; then the other way round.
    for (const [n, order] of [
      [1, "second first"],
      [2, "first first"],
    ] as const) {
      const before = new Set(repo.objects.keys());
      const fix = repo.commit({ files: { "a.txt": `fixed ${n}\n` }, parents: [base], message: `Fix it\n\nFixes #${n}` });
      const objects = [...repo.objects.keys()].filter((o) => !before.has(o));
      expect(await push(repoId, repo, objects, [{ name: `refs/heads/fix-${n}`, old: ZERO_OID, new: fix }])).toContain(
        `ok refs/heads/fix-${n}`,
      );
      expect(await push(repoId, repo, [], [{ name: `refs/heads/release-${n}`, old: ZERO_OID, new: fix }])).toContain(
        `ok refs/heads/release-${n}`,
      );
      const [first, second] = queue.take();
      await consume(order === "second first" ? [second!, first!] : [first!, second!]);
      expect(await issue("race", n), order).toMatchObject({ state: "closed" });
      expect(await linked("race", n, fix), order).toHaveLength(1);
    }
  });
});

/**
 * 2,100 first-parent commits: nine checkpoints (depths 0, 256, ..., 2,048). old.txt never changes,
 * so without a checkpoint below it a walk goes down to the root.
 */
function checkpointChain(): { repo: RepoBuilder; chain: Oid[] } {
  const repo = new RepoBuilder();
  const chain: Oid[] = [];
  for (let depth = 0; depth < 2_100; depth++) {
    const parents = chain.length ? [chain[chain.length - 1]!] : [];
    chain.push(repo.commit({ files: { "old.txt": "old\n", "src/hot.txt": `${depth}\n` }, parents, message: `c${depth}` }));
  }
  return { repo, chain };
}

describe("the last-commit checkpoint build after a push", () => {
  it("is driven to its end by follow-up queue messages, with no page visits, and a newer push supersedes it", async () => {
    const { repoId } = await newProject("drive");
    const repoRef = { tenantId: forge.id, repoId };
    const { repo, chain } = checkpointChain();
    const first = new Set(repo.objects.keys());
    expect(await push(repoId, repo, [...first], [{ name: "refs/heads/main", old: ZERO_OID, new: chain[2_099]! }])).toContain(
      "ok refs/heads/main",
    );
    // Derived in place (no push worker), runs of 600 steps: no one run writes them all.
    const consumerEnv = { ...env, PUSH: undefined, POST_PUSH: queue as unknown as Queue, LAST_COMMITS_STEPS: "600" } as Env;
    const written = async () => {
      let n = 0;
      for (let depth = 0; depth < chain.length; depth += CHECKPOINT_INTERVAL)
        if (await readStored(env, repoRef, chain[depth]!)) n++;
      return n;
    };
    expect(await consume(queue.take(), consumerEnv)).toEqual({ acked: 1, retried: 0 });
    const afterPush = await written();
    expect(afterPush).toBeGreaterThan(0);
    expect(afterPush).toBeLessThan(9);
    // The run queued its follow-up. A newer push to main lands before it is delivered: the
    // follow-up of the old tip does nothing (no checkpoint, no further message).
    const stale = queue.take();
    expect(stale).toHaveLength(1);
    const tip = repo.commit({
      files: { "old.txt": "old\n", "src/hot.txt": "new\n" },
      parents: [chain[2_099]!],
      message: "c2100",
    });
    const fresh = [...repo.objects.keys()].filter((o) => !first.has(o));
    expect(await push(repoId, repo, fresh, [{ name: "refs/heads/main", old: chain[2_099]!, new: tip }])).toContain(
      "ok refs/heads/main",
    );
    const pushed = queue.take();
    expect(await consume(stale, consumerEnv)).toEqual({ acked: 1, retried: 0 });
    expect(await written()).toBe(afterPush);
    expect(queue.messages).toHaveLength(0);
    // The newer push's event, then its follow-ups until the build is complete: each delivered
    // message writes more, and the chain stops by itself.
    let runs = 0;
    for (let batch = pushed; batch.length > 0 && runs < 20; batch = queue.take()) {
      expect(await consume(batch, consumerEnv)).toEqual({ acked: 1, retried: 0 });
      runs++;
    }
    expect(runs).toBeGreaterThan(1);
    expect(queue.messages).toHaveLength(0);
    expect(await written()).toBe(9);
  });
});

describe("one checkpoint run per repository at a time", () => {
  it("a follow-up delivered while a page's walk runs the build computes no checkpoint twice", async () => {
    const { repoId } = await newProject("sole");
    const repoRef = { tenantId: forge.id, repoId };
    const { repo, chain } = checkpointChain();
    const tip = chain[2_099]!;
    expect(await push(repoId, repo, [...repo.objects.keys()], [{ name: "refs/heads/main", old: ZERO_OID, new: tip }])).toContain(
      "ok refs/heads/main",
    );
    // Every R2 write, counted by key (a checkpoint's stored answer among them).
    const puts = new Map<string, number>();
    const objects = new Proxy(env.OBJECTS, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== "put") return typeof value === "function" ? value.bind(target) : value;
        return (key: string, ...rest: unknown[]) => {
          puts.set(key, (puts.get(key) ?? 0) + 1);
          return (value as (...a: unknown[]) => unknown).call(target, key, ...rest);
        };
      },
    });
    // Runs of 600 steps (the page's walk takes three quarters of one): no one run writes them all.
    const counted = {
      ...env,
      OBJECTS: objects,
      PUSH: undefined,
      POST_PUSH: queue as unknown as Queue,
      LAST_COMMITS_STEPS: "600",
    } as Env;
    expect(await consume(queue.take(), counted)).toEqual({ acked: 1, retried: 0 });
    const followUp = queue.take();
    expect(followUp).toHaveLength(1);
    // A page at main asks for the whole tree's walk (the push worker's side) while the follow-up
    // is delivered: both would go on with the build from the same stored index.
    const waits: Promise<unknown>[] = [];
    const [walk, delivered] = await Promise.all([
      runLastCommitsWalk(counted, repoRef, tip, 600, (p) => waits.push(p)),
      consume(followUp, counted),
    ]);
    await Promise.all(waits);
    expect(walk.kind).toBe("partial");
    expect(delivered).toEqual({ acked: 1, retried: 0 });
    // Whichever ran the build queued the one follow-up; the chain goes on to its end.
    const queued: number[] = [];
    for (let batch = queue.take(); batch.length > 0 && queued.length < 20; batch = queue.take()) {
      queued.push(batch.length);
      expect(await consume(batch, counted)).toEqual({ acked: batch.length, retried: 0 });
    }
    const checkpoints = chain.filter((_, depth) => depth % CHECKPOINT_INTERVAL === 0);
    for (const c of checkpoints) expect(await readStored(env, repoRef, c), c).not.toBeNull();
    // Each checkpoint computed and written once, and one follow-up queued at a time.
    expect(checkpoints.map((c) => puts.get(r2Keys.lastCommits(forge.id, repoId, c)))).toEqual(checkpoints.map(() => 1));
    expect(queued).toEqual(queued.map(() => 1));
  });
});

describe("the tests' drain of the forge's own consumer", () => {
  it("returns once the consumer has finished a push landed through the edge, timeline entry and derived data", async () => {
    const { repoId } = await newProject("drained");
    const repo = new RepoBuilder();
    const tip = repo.commit({ files: { "README.md": "drained\n" }, message: "drained" });
    const res = await pushRef(
      forge.host,
      "drained",
      forge.ownerToken,
      repo,
      [...repo.objects.keys()],
      "refs/heads/main",
      ZERO_OID,
      tip,
    );
    expect(await res.text()).toContain("ok refs/heads/main");
    await drainPostPush();
    // The consumer's last step, the commit-graph, is written (derived data after the timeline entry).
    expect((await readChain(env, { tenantId: forge.id, repoId }))?.count).toBe(1);
    const db = await tenantD1(forge);
    expect(
      await db.prepare("SELECT count(*) AS n FROM events WHERE kind = 'push' AND title = 'owner created branch main'").first("n"),
    ).toBeGreaterThan(0);
  });
});
