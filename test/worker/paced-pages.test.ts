// Pages that compute a lot between two reads give the isolate's other requests turns: a diff page
// reads files that are often in memory already (no real I/O, so no turn for anyone else), and
// diffs them in slices of bytes. Counted in the pacer's yields, never in time.
import { describe, expect, it } from "vitest";
import { ObjectStore, Pack } from "../../src/git/object-store";
import { PackIndex } from "../../src/git/pack-index";
import { indexPack } from "../../src/git/pack-indexer";
import { MemorySource } from "../../src/git/range-source";
import { diffTrees } from "../../src/git/tree-diff";
import { DIFF_SLICE_BYTES, diffView } from "../../src/routes/web/source/history";
import type { SourceRepo } from "../../src/services/source";
import { Pacer } from "../../src/utils/pace";
import { RepoBuilder } from "./git-fixture";

/** A text of `lines` distinct lines of 18 bytes each, line `changed` edited when given. */
const text = (lines: number, changed?: number) =>
  Array.from({ length: lines }, (_, i) => `${i === changed ? "edited" : "line"} ${String(i).padStart(12, "0")}\n`).join("");

describe("diff pages", () => {
  it("diff their files in slices of bytes, giving way between files", async () => {
    // Six files of 5,000 lines (about 90,000 bytes each side), one line edited in each.
    const r = new RepoBuilder();
    const names = Array.from({ length: 6 }, (_, i) => `f${i}.txt`);
    const before = r.files(Object.fromEntries(names.map((n) => [n, text(5_000)])));
    const after = r.files(Object.fromEntries(names.map((n, i) => [n, text(5_000, 100 * i)])));
    const source = new MemorySource("diff.pack", r.pack().pack);
    const store = new ObjectStore([new Pack("diff", new PackIndex((await indexPack(source)).index), source)]);
    const { changes } = await diffTrees(store, before, after);
    expect(changes).toHaveLength(6);

    const src = { store } as SourceRepo;
    const caps = { files: 100, lines: 3_000, fileBytes: 512 * 1024 };
    const view = (pacer: Pacer) =>
      diffView(
        src,
        changes,
        false,
        caps,
        () => "#",
        () => "#",
        pacer,
      );
    let pauses = 0;
    // About 180,000 bytes a file: with a slice of 300,000 bytes, a pause after every second file.
    const paced = new Pacer(Number.POSITIVE_INFINITY, 300_000, async () => {
      pauses++;
    });
    const diff = await view(paced);
    expect(pauses).toBe(3);
    expect(paced.yields).toBe(3);
    expect(diff.added).toBe(6);
    expect(diff.removed).toBe(6);
    // The same page as without pauses.
    expect(diff).toEqual(await view(new Pacer(Number.POSITIVE_INFINITY)));
    // The page's own slice: a few files of the page's largest size (512 KiB) at most.
    expect(DIFF_SLICE_BYTES).toBeLessThanOrEqual(caps.fileBytes);
  });
});
