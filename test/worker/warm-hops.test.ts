// The calls a warm page makes (issue 19: locally every call of a page queued behind Miniflare's
// own services on the same thread). A warm page by branch, whose body the isolate holds, makes no
// call at all: no Cache API match for the refs the isolate confirmed a moment ago
// (services/edge-refs.ts EDGE_REFS_ISOLATE_MS), no binding call; and a push through the edge still
// shows at once, per tenant.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EDGE_REFS_ISOLATE_MS, edgeRefsClock } from "../../src/services/edge-refs";
import { Browser, newForge, type Forge } from "./browser";
import { RepoBuilder, importRepo, pushRef } from "./git-fixture";
import { drainPostPush } from "./helpers";

let forge: Forge;
let other: Forge;
let repo: RepoBuilder;
let first: string;

beforeAll(async () => {
  forge = await newForge("hops");
  other = await newForge("hops-other");
  repo = new RepoBuilder();
  first = repo.commit({ files: { "src/a.ts": "export const a = 'first';\n" }, message: "First" });
  await importRepo(forge.slug, "demo", repo, { "refs/heads/main": first });
  // Another forge's project of the same name: the isolate's copies are per tenant.
  const theirs = new RepoBuilder();
  const their = theirs.commit({ files: { "src/a.ts": "export const a = 'theirs';\n" }, message: "Theirs" });
  await importRepo(other.slug, "demo", theirs, { "refs/heads/main": their });
}, 60_000);

afterAll(drainPostPush, 60_000);

/** Counts the Cache API calls made while it is on. */
const cacheCalls = { match: 0, put: 0, delete: 0 };
const cache = (caches as unknown as { default: Cache }).default;
const originals = { match: cache.match, put: cache.put, delete: cache.delete };
function countCacheCalls(): void {
  for (const name of ["match", "put", "delete"] as const) {
    cacheCalls[name] = 0;
    const original = originals[name];
    (cache as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      cacheCalls[name]++;
      return (original as (...a: unknown[]) => unknown).apply(cache, args);
    };
  }
}

const realNow = edgeRefsClock.now;
afterEach(() => {
  Object.assign(cache, originals);
  edgeRefsClock.now = realNow;
});

/** A page's body and how many binding calls its Server-Timing counts. */
async function page(b: Browser, path: string): Promise<{ text: string; calls: number }> {
  const res = await b.get(path);
  expect(res.status, path).toBe(200);
  const calls = Number(/(\d+) calls"/.exec(res.headers.get("server-timing") ?? "")?.[1] ?? NaN);
  return { text: await res.text(), calls };
}

describe("a warm page by branch", () => {
  it("makes no Cache API or binding call, and still shows a push through the edge at once", async () => {
    // Frozen clock: the isolate's confirmation does not run out during the test.
    const now = Date.now();
    edgeRefsClock.now = () => now;
    const b = new Browser(forge.host);
    const path = "/p/demo/source/blob/main/src/a.ts";
    expect((await page(b, path)).text).toContain("first");
    countCacheCalls();
    const warm = await page(b, path);
    expect(warm.text).toContain("first");
    expect(cacheCalls).toEqual({ match: 0, put: 0, delete: 0 });
    expect(warm.calls).toBe(0);

    const had = new Set(repo.objects.keys());
    const next = repo.commit({ files: { "src/a.ts": "export const a = 'second';\n" }, message: "Second", parents: [first] });
    const added = [...repo.objects.keys()].filter((oid) => !had.has(oid));
    const pushed = await pushRef(forge.host, "demo", forge.ownerToken, repo, added, "refs/heads/main", first, next);
    expect(await pushed.text()).toContain("ok refs/heads/main");
    const after = await page(b, path);
    expect(after.text).toContain("second");
    expect(after.text).not.toContain("first");

    // The other forge's project of the same name keeps its own refs.
    expect((await page(new Browser(other.host), path)).text).toContain("theirs");
    expect((await page(b, path)).text).toContain("second");
  });

  it("asks the data centre's copy again once the isolate's confirmation is EDGE_REFS_ISOLATE_MS old", async () => {
    let now = Date.now();
    edgeRefsClock.now = () => now;
    const b = new Browser(forge.host);
    const path = "/p/demo/source/blob/main/src/a.ts";
    await page(b, path);
    countCacheCalls();
    await page(b, path);
    expect(cacheCalls.match).toBe(0);
    now += EDGE_REFS_ISOLATE_MS;
    await page(b, path);
    expect(cacheCalls.match).toBe(1);
    await page(b, path);
    expect(cacheCalls.match).toBe(1);
  });
});
