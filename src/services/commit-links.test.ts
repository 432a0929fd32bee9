// What commit messages say about issues: closing words, referring words, lists, case, and the
// near misses that must not count.
import { describe, expect, it } from "vitest";
import { parseCommitReferences } from "./commit-links";

const refs = (m: string) => parseCommitReferences(m).map((r) => `${r.action} ${r.number}`);

describe("parseCommitReferences", () => {
  it("finds closing and referring words, several per message, any case", () => {
    expect(refs("Fixes #1")).toEqual(["close 1"]);
    expect(refs("fix #2, closes issue 3\n\nRefs #4; see issue 5")).toEqual(["close 2", "close 3", "ref 4", "ref 5"]);
    expect(refs("RESOLVED #6 and CLOSED: #7")).toEqual(["close 6", "close 7"]);
    expect(refs("Fixes #8, #9 and #10 & issue 11")).toEqual(["close 8", "close 9", "close 10", "close 11"]);
    expect(refs("closes issue #12")).toEqual(["close 12"]);
  });

  it("lets closing win over referring for one issue, and counts each issue once", () => {
    expect(refs("refs #1\nfixes #1\nrefs #1")).toEqual(["close 1"]);
    expect(refs("fixes #2 fixes #2")).toEqual(["close 2"]);
  });

  it("ignores what only looks like a reference", () => {
    expect(refs("Prefix #1, suffixes #2, fixture #3")).toEqual([]);
    expect(refs("fixes the build on issue-tracker")).toEqual([]);
    expect(refs("fixes 12 tests")).toEqual([]);
    expect(refs("Fixes #0")).toEqual([]);
    expect(refs("")).toEqual([]);
  });

  it("reads at most 20 issues from one message", () => {
    expect(refs(`fixes ${Array.from({ length: 30 }, (_, i) => `#${i + 1}`).join(", ")}`)).toHaveLength(20);
  });
});
