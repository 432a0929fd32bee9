// Storage reads of cold source pages, counted by the request meter (Server-Timing `r2-read`), not
// timed: with every pack index read by ranges, as a large repository's is, a page must not look
// up in the index what the pack already told it (issue 19: on big.git 40 of a log page's 41 R2
// calls were index reads, one or two a row).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Oid } from "../../src/git/oid";
import { setRangedPageBudget } from "../../src/git/pack-index-unit-cache";
import { setWholeIndexMax } from "../../src/storage/pack-store";
import { newForge, type Forge } from "./browser";
import { importRepo, RepoBuilder } from "./git-fixture";
import { edge } from "./helpers";

/** A history of COMMITS commits beside enough blobs that the index spans many units. */
const COMMITS = 120;
const BLOBS = 3000;

/** The pack's GETs of index and pack (Server-Timing `r2-read`). */
function reads(res: Response): { idx: number; pack: number } {
  const st = res.headers.get("server-timing") ?? "";
  const m = /(?:^|, )r2-read;desc="(\d+) idx, (\d+) pack/.exec(st);
  return { idx: Number(m?.[1] ?? 0), pack: Number(m?.[2] ?? 0) };
}

let forge: Forge;
const commits: Oid[] = [];
let previousMax = 0;
let previousBudget = 0;

beforeAll(async () => {
  previousMax = setWholeIndexMax(0);
  // A unit cache far smaller than the index, as on big.git (10 MiB for 25 MB): lookups miss.
  previousBudget = setRangedPageBudget(64 * 1024);
  forge = await newForge("reads");
  const built = new RepoBuilder();
  const files: Record<string, string> = {};
  for (let i = 0; i < BLOBS; i++) files[`data/f${i}.txt`] = `file ${i}\n`;
  let parent: Oid | undefined;
  for (let i = 0; i < COMMITS; i++) {
    files["README.md"] = `# Demo\n\nrevision ${i}\n`;
    parent = built.commit({ files, parents: parent ? [parent] : [], message: `Commit ${i}\n\nBody of commit ${i}.` });
    commits.push(parent);
  }
  // As git writes a pack: the commits first, newest first, then the other objects.
  const ordered = new RepoBuilder();
  for (const oid of [...commits].reverse()) ordered.objects.set(oid, built.objects.get(oid)!);
  for (const [oid, o] of built.objects) if (!ordered.objects.has(oid)) ordered.objects.set(oid, o);
  await importRepo(forge.slug, "demo", ordered, { "refs/heads/main": parent! });
}, 120_000);

afterAll(() => {
  setWholeIndexMax(previousMax);
  setRangedPageBudget(previousBudget);
});

describe("cold pages on a ranged index", () => {
  it("a log page finds its rows' commits next to the first one it reads, not in the index", async () => {
    const tip = commits[commits.length - 1]!;
    const res = await edge(`http://${forge.host}/p/demo/source/log/${tip}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    // The same rows as ever: the newest 50 commits, newest first.
    for (const i of [COMMITS - 1, COMMITS - 25, COMMITS - 50]) expect(html).toContain(`Commit ${i}`);
    expect(html.indexOf(`Commit ${COMMITS - 1}`)).toBeLessThan(html.indexOf(`Commit ${COMMITS - 2}`));
    // The tip's lookup (its names and offsets) and little else; each of 50 rows was a lookup before.
    expect(reads(res).idx).toBeLessThanOrEqual(4);
  });

  it("a compare page's commit rows cost no lookup each either", async () => {
    const head = commits[79]!;
    const base = commits[19]!;
    const res = await edge(`http://${forge.host}/p/demo/source/compare/${base}...${head}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    // Its 60 rows: commits 20 to 79.
    for (const i of [79, 50, 20]) expect(html).toContain(`Commit ${i}`);
    // The two ends' trees, the diff's blobs and a few more; not one or two a row of 60.
    expect(reads(res).idx).toBeLessThanOrEqual(12);
  });

  it("once pages have read a third of a large index by units, its id table is read once and later pages look up nothing", async () => {
    // Four units of 4 KiB: without the table, hardly a lookup finds its unit cached.
    setRangedPageBudget(16 * 1024);
    const visits: { i: number; idx: number }[] = [];
    // Commit pages (each diffs a different commit's tree: lookups spread over the index), oldest first.
    for (let i = 1; i < COMMITS && visits.length < 60; i++) {
      const res = await edge(`http://${forge.host}/p/demo/source/commit/${commits[i]}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain(`Commit ${i}`);
      visits.push({ i, idx: reads(res).idx });
      if (visits.length >= 3 && visits.slice(-3).every((v) => v.idx === 0)) break;
    }
    // The index (about 3,250 objects: 92 KB) read as its table by one page, then nothing.
    const last = visits.slice(-3);
    expect(last.map((v) => v.idx)).toEqual([0, 0, 0]);
    const spent = visits.reduce((n, v) => n + v.idx, 0);
    expect(visits.length).toBeLessThan(60);
    expect(spent).toBeGreaterThan(0);
  });
});
