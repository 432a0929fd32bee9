// A commit's links (tree, parents, committer time) as the walks read them: the same answers, and
// each id decoded on its own rather than sliced out of the decoded header, which kept every
// header alive for as long as its ids were (a compaction holds 70,000 commits' ids on git/git).
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseCommitLinks } from "./objects";

const TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
const P1 = "1111111111111111111111111111111111111111";
const P2 = "2222222222222222222222222222222222222222";

function commit(parents: string[], committer: string, extra = ""): Uint8Array {
  const author = `A Long Author Name ${"x".repeat(200)} <author@example.com> 1600000000 +0000`;
  const lines = [`tree ${TREE}`, ...parents.map((p) => `parent ${p}`), `author ${author}`, `committer ${committer}`];
  return new TextEncoder().encode(`${lines.join("\n")}${extra}\n\nmessage\ntree ${P2}\nparent ${P2}\n`);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("commit links", () => {
  it("reads the tree, the parents and the committer time from the headers only", () => {
    expect(parseCommitLinks(commit([P1, P2], "C <c@example.com> 1700000123 +0100"))).toEqual({
      tree: TREE,
      parents: [P1, P2],
      time: 1700000123,
    });
    expect(parseCommitLinks(commit([], "C <c@example.com> -5 -0700"))).toEqual({ tree: TREE, parents: [], time: -5 });
    // A signature's continuation lines are not headers of their own; an odd date reads as 0.
    const signed = commit([P1], "C <c> <d> 1700000000 +0000", "\ngpgsig -----BEGIN-----\n tree x\n -----END-----");
    expect(parseCommitLinks(signed)).toEqual({ tree: TREE, parents: [P1], time: 1700000000 });
    expect(parseCommitLinks(commit([P1], "C <c@example.com> soon")).time).toBe(0);
    expect(() => parseCommitLinks(new TextEncoder().encode(`parent ${P1}\n\nno tree`))).toThrow(/without a tree/);
  });

  it("decodes each id on its own, never the whole header its ids would keep alive", () => {
    const decode = vi.spyOn(TextDecoder.prototype, "decode");
    const data = commit([P1, P2], "C <c@example.com> 1700000123 +0100");
    parseCommitLinks(data);
    const decoded = decode.mock.calls.map(([input]) => (input as Uint8Array).length);
    // Three ids of 40 bytes and the committer's date ("> 1700000123 +0100"): the header is 400 bytes.
    expect(Math.max(...decoded)).toBeLessThanOrEqual(40);
    expect(decoded.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(3 * 40 + 20);
  });
});
