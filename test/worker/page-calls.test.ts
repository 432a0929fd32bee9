// Storage calls of a cold commit page, counted, not timed (issue 19: each ranged R2 GET is a round
// trip to the region). A commit page's tree diff fills the pack windows of each level's trees a
// cluster at a time, and its file diffs those of their blobs.
import { describe, expect, it } from "vitest";
import { newForge } from "./browser";
import { importRepo, RepoBuilder } from "./git-fixture";
import { edge } from "./helpers";
import { EDGE_CACHE_BOUNDS, useCacheBounds } from "../../src/utils/edge-budget";

/** The pack's GETs (Server-Timing `r2-read`: index, pack). */
function packReads(res: Response): number {
  const m = /(?:^|, )r2-read;desc="(\d+) idx, (\d+) pack/.exec(res.headers.get("server-timing") ?? "");
  if (!m) throw new Error(`no r2-read in Server-Timing: ${res.headers.get("server-timing")}`);
  return Number(m[2]);
}

/**
 * Empties the isolate's caches of pack windows and objects (the import, in this isolate too, read
 * the pack through them), so that the next page reads what it needs from storage.
 */
function coldCaches(): void {
  const names = ["git.pack-windows", "git.resolved-objects", "git.learned-commits"] as const;
  useCacheBounds(Object.fromEntries(names.map((n) => [n, 0])));
  useCacheBounds(Object.fromEntries(names.map((n) => [n, EDGE_CACHE_BOUNDS[n]])));
}

/** Bytes that deflate does not shrink (a pack's entries keep their size). */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed + 1) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe("cold commit page", () => {
  it("fills the windows of a level's trees and of its files' blobs a cluster at a time", async () => {
    const forge = await newForge("calls");
    const r = new RepoBuilder();
    // 12 directories, each a file that changes and 40 KB that does not: each directory's tree
    // lies in a window of its own, the 12 together in under a MiB of the pack.
    const DIRS = 12;
    const files = (v: string) => {
      const out: Record<string, string | Uint8Array> = { "README.md": `# Demo ${v}\n` };
      for (let d = 0; d < DIRS; d++) {
        out[`d${d}/big.bin`] = noise(40_000, d);
        out[`d${d}/f.txt`] = `file ${d}\nversion ${v}\n`;
      }
      return out;
    };
    const one = r.commit({ files: files("one"), message: "One" });
    const two = r.commit({ files: files("two"), parents: [one], message: "Every directory" });
    await importRepo(forge.slug, "demo", r, { "refs/heads/main": two });
    coldCaches();
    const res = await edge(`http://${forge.host}/p/demo/source/commit/${two}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    // The same page: every directory's file changed, its diff shown.
    expect(html).toContain("Every directory");
    for (let d = 0; d < DIRS; d++) expect(html).toContain(`d${d}/f.txt`);
    expect(html).toContain("version two");
    // The old directories' trees and blobs a window read each as the walk met them (8 pack GETs
    // before); now a GET per cluster of nearby windows per level of the diff, and per 16 files.
    expect(packReads(res)).toBeLessThanOrEqual(5);
  });
});
