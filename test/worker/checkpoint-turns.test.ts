// A page's checkpoint (services/last-commit-checkpoints.ts) is read out of a stored answer that
// holds every path of the checkpoint's tree: on big.git one pass over them ran 8 to 20 ms of the
// workerd thread at a time during cold tree pages in storage mode, the longest of the edge's own
// stretches after the id table's (bench/scale-results.md, s16-turns). The pass now gives turns.
import { describe, expect, it } from "vitest";
import { CHECKPOINT_PATHS_PER_UNIT, checkpointOf } from "../../src/services/last-commit-checkpoints";
import type { StoredLastCommits } from "../../src/services/last-commit-store";
import { TURN_UNITS } from "../../src/utils/pace";
import { turnsDuring } from "./turns";

describe("a checkpoint read out of a stored answer", () => {
  it("gives other requests turns while it looks at every path, and answers the directory's own", async () => {
    // 10,000 files at the root, 10,000 in a/: the root's answer is the first 10,000.
    const n = 20_000;
    const commit = (i: number) => i.toString(16).padStart(40, "0");
    const data: StoredLastCommits = {
      v: 2,
      commit: commit(1),
      commits: [commit(1), commit(2)],
      briefs: [{ t: 1 }, { t: 2 }] as unknown as StoredLastCommits["briefs"],
      paths: Object.fromEntries(Array.from({ length: n }, (_, i) => [i < n / 2 ? `f${i}` : `a/f${i}`, i % 2])),
    };
    const { result, turns } = await turnsDuring(async () => checkpointOf(data, ""));
    // One every 1,024 paths (TURN_UNITS units of CHECKPOINT_PATHS_PER_UNIT) when nothing else
    // spends: 19, less one as the budget may have been part spent before. Before, none.
    expect(turns).toBeGreaterThanOrEqual(18);
    expect(CHECKPOINT_PATHS_PER_UNIT * TURN_UNITS).toBeLessThanOrEqual(1024);
    expect(result.commit).toBe(commit(1));
    expect(result.answers.size).toBe(n / 2);
    expect(result.answers.get("f3")).toEqual({ commit: commit(2), time: 2 });
    const sub = await checkpointOf(data, "a/");
    expect(sub.answers.size).toBe(n / 2);
    expect(sub.answers.get(`a/f${n - 2}`)).toEqual({ commit: commit(1), time: 1 });
  });
});
