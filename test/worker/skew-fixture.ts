// A history of the generated benchmark repositories' kind (dated far in the future) with new
// commits on top dated years before it, as today's clock dates a push to a history dated up to
// 2060: the fetch tests of negotiation and the object walk (fetch-skew, fetch-stale-graph) share it.
import type { Oid } from "../../src/git/oid";
import { RepoBuilder } from "./git-fixture";

/** Commits on the main line (the root included). */
export const SKEW_HISTORY = 300;
/** Far in the future, as the generated benchmark repositories' later commits are. */
const START = 2_800_000_000;

export interface SkewedHistory {
  repo: RepoBuilder;
  /** The main line's tip, and a one-commit side branch forked half-way (the client has both). */
  tip: Oid;
  side: Oid;
  /** A main-line commit a third of the way up. */
  early: Oid;
  /** The new commit on `tip`, dated years before every other commit, and what sending it sends. */
  late: Oid;
  sentByLate: Oid[];
  /** A second new commit on `late`, dated before it too. */
  second: Oid;
  /** Every object of the new commits: the rest is the history the client has. */
  newObjects: Set<Oid>;
}

export function skewedHistory(readme: string): SkewedHistory {
  const repo = new RepoBuilder();
  const files: Record<string, string> = { "README.md": `${readme}\n`, "src/a.txt": "a\n" };
  let tip = repo.commit({ files, message: "root", time: START });
  let early = tip;
  let side = tip;
  for (let i = 1; i < SKEW_HISTORY; i++) {
    files[`src/f${i % 7}.txt`] = `change ${i}\n`;
    tip = repo.commit({ files, parents: [tip], message: `change ${i}`, time: START + i * 60 });
    if (i === SKEW_HISTORY / 3) early = tip;
    if (i === SKEW_HISTORY / 2)
      side = repo.commit({
        files: { ...files, "side.txt": "side\n" },
        parents: [tip],
        message: "side",
        time: START + i * 60 + 30,
      });
  }
  const before = repo.objects.size;
  const late = repo.commit({
    files: { ...files, "README.md": `${readme}\nlate\n` },
    parents: [tip],
    message: "late",
    time: START - 400_000_000,
  });
  const sentByLate = [...repo.objects.keys()].slice(before);
  const second = repo.commit({
    files: { ...files, "README.md": `${readme}\nlater\n` },
    parents: [late],
    message: "2nd",
    time: START - 500_000_000,
  });
  const newObjects = new Set([...repo.objects.keys()].slice(before));
  return { repo, tip, side, early, late, sentByLate, second, newObjects };
}
