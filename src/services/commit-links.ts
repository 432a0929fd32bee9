// Commit links: once a push has landed, the messages of the commits it added that say "fixes #12"
// or "closes issue 12" close the issue with a comment linking the commit; "refs #12" comments only.
// Run by the post-push queue consumer, which may see a push twice: each (commit, issue) comment
// has a unique key, so a second run changes nothing.
import type { Env } from "../env";
import { CommitQueue, type CommitInfo } from "../git/commit-graph";
import type { GitObject, ObjectStore } from "../git/object-store";
import { parseCommit } from "../git/objects";
import { ZERO_OID, type Oid } from "../git/oid";
import type { PushedEvent } from "./push-events";
import type { TenantDb } from "../db/tenant-db";
import { levelOf } from "../auth/access";
import type { Project } from "./projects";
import { currentSnapshot, openStore } from "./repositories";
import { findIssue, updateIssue, type UserRef } from "./issues";
import { findUserByName } from "./users";

/** Commits read per push at most: a push of a long history links its newest commits. */
export const MAX_COMMITS_PER_PUSH = 500;
/** Issue comments one push may make (each costs a few D1 calls of the consumer's budget). */
export const MAX_LINKS_PER_PUSH = 200;
const REFERENCES_PER_COMMIT = 20;

const CLOSE_WORDS = "fix|fixes|fixed|close|closes|closed|resolve|resolves|resolved";
const REF_WORDS = "ref|refs|references|see";
const ONE_ISSUE = String.raw`(?:issue\s*#?|#)(\d+)`;
const REFERENCE = new RegExp(
  String.raw`\b(${CLOSE_WORDS}|${REF_WORDS})\s*:?\s*${ONE_ISSUE}((?:\s*(?:,|and|&)\s*${ONE_ISSUE})*)`,
  "gi",
);
const IS_CLOSE = new RegExp(`^(?:${CLOSE_WORDS})$`, "i");
/** Cheap test before keeping a message in memory. */
const MAY_REFERENCE = /\b(?:fix|close|resolve|ref|see)/i;

export interface CommitReference {
  number: number;
  action: "close" | "ref";
}

/**
 * The issues a commit message refers to: `fixes #1`, `Closes issue 2`, `resolves #3, #4 and #5`
 * close; `refs #6`, `see issue 7` refer. Closing wins when a message does both to one issue.
 */
export function parseCommitReferences(message: string): CommitReference[] {
  const found = new Map<number, "close" | "ref">();
  for (const m of message.matchAll(REFERENCE)) {
    const action = IS_CLOSE.test(m[1]!) ? "close" : "ref";
    const more = [...m[3]!.matchAll(new RegExp(ONE_ISSUE, "gi"))].map((x) => x[1]!);
    for (const n of [m[2]!, ...more].map(Number)) {
      if (!Number.isSafeInteger(n) || n < 1) continue;
      if (found.get(n) !== "close") found.set(n, action);
    }
  }
  return [...found].slice(0, REFERENCES_PER_COMMIT).map(([number, action]) => ({ number, action }));
}

interface NewCommit {
  oid: Oid;
  message: string;
  time: number;
}

/**
 * Reads of the walk's starting commits under way at once. A push beside git/git's 700 branches
 * names each of them as known (a mirror push, each as a tip): read one after another (an index
 * lookup and a pack read each, by ranges) they held the post-push consumer 30 to 45 s per push on
 * big.git, and the derived data of every push queued behind it waited as long.
 */
export const START_READS = 16;

/** `oids`' objects (null where missing), START_READS at a time, their index pages looked up in one batch first. */
async function readSideBySide(store: ObjectStore, oids: Oid[]): Promise<(GitObject | null)[]> {
  await store.locateMany(oids);
  const out = new Array<GitObject | null>(oids.length).fill(null);
  for (let from = 0; from < oids.length; from += START_READS) {
    const batch = oids.slice(from, from + START_READS);
    const read = await Promise.all(batch.map((oid) => store.read(oid).catch(() => null)));
    for (const [i, obj] of read.entries()) out[from + i] = obj;
  }
  return out;
}

/**
 * Commits reachable from `tips` but not from `known` (`git rev-list tips --not known`), newest
 * first, at most `max`. A date-ordered walk: marks from the known tips spread to their
 * ancestors, and the walk ends when every queued commit is known. Only messages that may refer
 * to an issue are kept.
 */
export async function newCommits(
  store: ObjectStore,
  tips: Oid[],
  known: Oid[],
  max = MAX_COMMITS_PER_PUSH,
): Promise<NewCommit[]> {
  const seen = new Map<Oid, CommitInfo & { message: string }>();
  const uninteresting = new Set<Oid>();
  const queuedInteresting = new Set<Oid>();
  const queue = new CommitQueue();
  const enqueue = async (oid: Oid, bad: boolean, read?: GitObject | null) => {
    if (bad) {
      uninteresting.add(oid);
      queuedInteresting.delete(oid);
    }
    if (seen.has(oid)) return;
    // Not here (a shallow boundary, or pruned): nothing to walk.
    const obj = read === undefined ? await store.read(oid).catch(() => null) : read;
    if (obj?.type !== "commit") return;
    const c = parseCommit(obj.data);
    const info = {
      oid,
      tree: c.tree,
      parents: c.parents,
      time: c.committer.time,
      message: MAY_REFERENCE.test(c.message) ? c.message : "",
    };
    seen.set(oid, info);
    queue.push(info);
    if (!uninteresting.has(oid)) queuedInteresting.add(oid);
  };
  const starts = await readSideBySide(store, [...known, ...tips]);
  for (const [i, k] of known.entries()) await enqueue(k, true, starts[i]);
  for (const [i, t] of tips.entries()) await enqueue(t, false, starts[known.length + i]);
  const out: NewCommit[] = [];
  while (queue.size > 0 && queuedInteresting.size > 0 && out.length < max) {
    const c = queue.pop()! as CommitInfo & { message: string };
    queuedInteresting.delete(c.oid);
    const bad = uninteresting.has(c.oid);
    if (!bad) out.push({ oid: c.oid, message: c.message, time: c.time });
    for (const p of c.parents) await enqueue(p, bad);
  }
  return out;
}

const shortRef = (name: string) => name.replace(/^refs\/heads\//, "");

function linkComment(
  project: string,
  sha: string,
  branch: string,
  pusher: string,
  message: string,
  action: "close" | "ref",
): string {
  const lines = message.trim().split("\n").slice(0, 20);
  const quoted = lines.map((l) => `> ${l.slice(0, 300)}`.trimEnd()).join("\n");
  const link = `[${sha.slice(0, 10)}](/p/${encodeURIComponent(project)}/source/commit/${sha})`;
  const what = action === "close" ? "fixes this issue" : "refers to this issue";
  return `Commit ${link} on ${branch}, pushed by ${pusher || "someone"}, ${what}:\n\n${quoted}`;
}

/** The links one push makes: each commit's references, oldest commit first, at most MAX_LINKS_PER_PUSH. */
export interface CommitLinkPlan {
  links: { oid: Oid; message: string; ref: CommitReference }[];
  branch: string;
}

/** Reads the commits a push brought and what their messages refer to; changes nothing. */
export async function planCommitLinks(env: Env, project: Project, event: PushedEvent): Promise<CommitLinkPlan | null> {
  if (levelOf(project, "issues") === "off") return null;
  const branches = event.updates.filter((u) => u.name.startsWith("refs/heads/") && u.new !== ZERO_OID);
  if (!branches.length) return null;
  const repo = { tenantId: event.tenantId, repoId: event.repoId };
  const snapshot = await currentSnapshot(env, repo);
  const store = await openStore(env.OBJECTS, repo, snapshot);
  // Known before the push: the old tips, and every branch the push did not touch as it was then.
  // The push names those (event.known); the refs now may hold a later push of the same commits,
  // which would hide them from both pushes. Events from older versions fall back to the refs now.
  const updated = new Set(event.updates.map((u) => u.name));
  const known = [
    ...event.updates.map((u) => u.old).filter((o) => o !== ZERO_OID),
    ...(event.known ?? snapshot.refs.filter((r) => r.name.startsWith("refs/heads/") && !updated.has(r.name)).map((r) => r.oid)),
  ];
  const commits = await newCommits(
    store,
    branches.map((b) => b.new),
    known,
  );
  const links: CommitLinkPlan["links"] = [];
  // Oldest first, so the history reads in the order the work was done.
  for (const commit of commits.reverse()) {
    for (const ref of parseCommitReferences(commit.message)) {
      if (links.length >= MAX_LINKS_PER_PUSH) return { links, branch: shortRef(branches[0]!.name) };
      links.push({ oid: commit.oid, message: commit.message, ref });
    }
  }
  return { links, branch: shortRef(branches[0]!.name) };
}

/** Each issue a plan closes or refers to, once (closing wins), in the order first named. */
export function linkedIssues(plan: CommitLinkPlan | null): CommitReference[] {
  const found = new Map<number, CommitReference["action"]>();
  for (const { ref } of plan?.links ?? []) if (found.get(ref.number) !== "close") found.set(ref.number, ref.action);
  return [...found].map(([number, action]) => ({ number, action }));
}

/**
 * Applies a plan: one comment (closing the issue for "fixes") per commit and issue. Returns how
 * many it added (0 when the push was seen before). `eventPayload` goes into each issue event
 * (post-push: `digest` when the push's own mail lists the issues).
 */
export async function applyCommitLinks(
  db: TenantDb,
  project: Project,
  event: PushedEvent,
  plan: CommitLinkPlan | null,
  eventPayload?: Record<string, unknown>,
): Promise<number> {
  if (!plan?.links.length) return 0;
  const pusher = event.pusher ? await findUserByName(db, event.pusher) : undefined;
  const actor = {
    user: pusher ? ({ id: pusher.id, username: pusher.username, displayName: pusher.displayName } satisfies UserRef) : null,
    triage: true,
  };
  let added = 0;
  for (const { oid, message, ref } of plan.links) {
    const issue = await findIssue(db, project.id, ref.number);
    if (!issue) continue;
    const result = await updateIssue(db, project, ref.number, actor, ref.action === "close" ? { state: "closed" } : {}, {
      comment: linkComment(project.name, oid, plan.branch, event.pusher, message, ref.action),
      key: `commit:${oid}:${issue.id}`,
      eventPayload,
    });
    if (result.outcome === "updated") added++;
  }
  return added;
}

/**
 * Applies the commit links of one push that landed. Returns how many comments it added (0 when
 * the push was seen before).
 */
export async function linkPushedCommits(env: Env, db: TenantDb, project: Project, event: PushedEvent): Promise<number> {
  return applyCommitLinks(db, project, event, await planCommitLinks(env, project, event));
}
