import { describe, expect, it } from "vitest";
import { ifNoneMatchHits } from "./etag";

describe("ifNoneMatchHits (If-None-Match, weak comparison)", () => {
  const etag = '"abc123"';
  const table: [header: string | null | undefined, hits: boolean][] = [
    [undefined, false],
    [null, false],
    ["", false],
    ['"abc123"', true],
    ['W/"abc123"', true],
    ['"other"', false],
    ['W/"other"', false],
    ['"other", "abc123"', true],
    ['"other",W/"abc123"', true],
    [' "a" ,  "b" , "abc123" ', true],
    ['"a,b", "c"', false],
    ['"abc123', false],
    ["abc123", false],
    ['junk, "abc123"', true],
    ["*", true],
    [" * ", true],
    ['"ABC123"', false],
  ];
  it.each(table)("%j -> %s", (header, hits) => {
    expect(ifNoneMatchHits(header, etag)).toBe(hits);
  });

  it("compares weakly when the representation's own tag is weak, and never matches without one", () => {
    expect(ifNoneMatchHits('"abc123"', 'W/"abc123"')).toBe(true);
    expect(ifNoneMatchHits('"x,y"', '"x,y"')).toBe(true);
    expect(ifNoneMatchHits("*", undefined)).toBe(false);
  });
});
