// Spill parts in R2 (git/spill.ts SpillStore): sorted runs a push or an import writes out while it
// checks a large pack, under the repository's prefix, named by a random id per use, deleted by it.
import type { Env } from "../env";
import { LINK_SPILL_BUDGET } from "../git/connectivity";
import type { SpillStore } from "../git/spill";
import { readStreamInto } from "../git/stream-reads";
import { randomId } from "../utils/crypto";
import { r2Keys } from "./keys";

/** R2 deletes at most this many keys in one call. */
const DELETE_BATCH = 1000;

export function r2SpillStore(bucket: R2Bucket, tenantId: string, repoId: string, what: string): SpillStore {
  const spillId = `${what}-${randomId(12)}`;
  const key = (part: number) => r2Keys.spillPart(tenantId, repoId, spillId, part);
  return {
    async put(part, bytes) {
      await bucket.put(key(part), bytes);
    },
    async read(part, start, end) {
      const obj = await bucket.get(key(part), { range: { offset: start, length: end - start } });
      if (!obj) throw new Error(`spill part ${key(part)} is missing`);
      return new Uint8Array(await obj.arrayBuffer());
    },
    async readInto(part, start, into) {
      const obj = await bucket.get(key(part), { range: { offset: start, length: into.length } });
      if (!obj) throw new Error(`spill part ${key(part)} is missing`);
      return readStreamInto(obj.body, into);
    },
    async delete(parts) {
      for (let i = 0; i < parts.length; i += DELETE_BATCH) await bucket.delete(parts.slice(i, i + DELETE_BATCH).map(key));
    },
  };
}

/**
 * Bytes the connectivity check of one pack may hold in links: the optional LINK_SPILL_BUDGET
 * setting (docs/deploy.md; at least 4 KiB). The tests set it small, so that packs of a few dozen objects spill.
 */
export function linkSpillBudget(env: Env): number {
  const raw = env.LINK_SPILL_BUDGET;
  const n = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : Number.NaN;
  // Below 4 KiB a merge's reads would pass the budget (git/spill.ts refuses such a budget).
  return Number.isSafeInteger(n) && n > 0 ? Math.max(n, 4096) : LINK_SPILL_BUDGET;
}
