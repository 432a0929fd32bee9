// How often other work gets the event loop while a piece of work runs: the tests of paced work
// (indexing, highlighting, cached reads) count these turns instead of timing anything.
import { yieldToOthers } from "../../src/utils/pace";

/** Counts the turns other tasks get while `work` runs (one timer loop beside it). */
export async function turnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let running = true;
  const ticker = (async () => {
    while (running) {
      await yieldToOthers();
      if (running) turns++;
    }
  })();
  const result = await work();
  running = false;
  await ticker;
  return { result, turns };
}
