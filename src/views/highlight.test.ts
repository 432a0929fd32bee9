// The paced highlighter (blob and blame pages) gives way every slice of input, so that a page of a
// large file no longer holds the isolate's other requests for the whole highlight (issue 19), and
// gives exactly the lines the one-go highlighter gives.
import { describe, expect, it } from "vitest";
import { Pacer } from "../utils/pace";
import { HIGHLIGHT_SLICE, highlightedLines, highlightedLinesPaced } from "./highlight";
import { turnsDuring } from "../../test/worker/turns";

/** About `bytes` of TypeScript with every token kind, multi-line comments and template strings. */
function code(bytes: number, seed = 0): string {
  const parts: string[] = [];
  let n = 0;
  for (let i = seed; n < bytes; i++) {
    const piece =
      `/* block ${i}\n   spans <lines> & "quotes" */\n` +
      `export const v${i} = { s: "str ${i} <b>", t: \`tpl \${${i}}\nline\`, n: 0x${i.toString(16)}, ok: true }; // end ${i}\n` +
      `function f${i}(a: number): string { return a > ${i} ? 'x' : String(a); }\n`;
    parts.push(piece);
    n += piece.length;
  }
  return parts.join("");
}

describe("paced highlighting", () => {
  it("pauses once per slice of input, with the same lines as the one-go highlighter", async () => {
    const text = code(256 * 1024);
    for (const lang of ["js", null]) {
      let pauses = 0;
      const pacer = new Pacer(Number.POSITIVE_INFINITY, HIGHLIGHT_SLICE, async () => {
        pauses++;
      });
      const paced = await highlightedLinesPaced(text, lang, pacer);
      expect(paced).toEqual(highlightedLines(text, lang));
      // Reports come every KiB, so a slice ends within a KiB past its size.
      const slices = text.length / HIGHLIGHT_SLICE;
      expect(pauses).toBeGreaterThanOrEqual(Math.floor(slices * (HIGHLIGHT_SLICE / (HIGHLIGHT_SLICE + 2048))));
      expect(pauses).toBeLessThanOrEqual(Math.ceil(slices));
    }
  });

  it("lets the isolate's other tasks run while it highlights a large file", async () => {
    const text = code(256 * 1024);
    const { result, turns } = await turnsDuring(() => highlightedLinesPaced(text, "js"));
    expect(result.length).toBe(text.split("\n").length);
    // 16 slices of 16 KiB: the timer loop beside it gets a turn between most of them.
    expect(turns).toBeGreaterThanOrEqual(8);
  });

  it("gives each of two interleaved highlights of one language its own lines", async () => {
    const a = code(64 * 1024, 1);
    const b = code(48 * 1024, 5000);
    const [pa, pb] = await Promise.all([highlightedLinesPaced(a, "js"), highlightedLinesPaced(b, "js")]);
    expect(pa).toEqual(highlightedLines(a, "js"));
    expect(pb).toEqual(highlightedLines(b, "js"));
  });

  it("small files take no pause", async () => {
    let pauses = 0;
    const pacer = new Pacer(Number.POSITIVE_INFINITY, HIGHLIGHT_SLICE, async () => {
      pauses++;
    });
    const text = code(4 * 1024);
    expect(await highlightedLinesPaced(text, "js", pacer)).toEqual(highlightedLines(text, "js"));
    expect(pauses).toBe(0);
  });
});
