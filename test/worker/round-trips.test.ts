// Sequential regional round trips per page kind, counted by the request meter (Server-Timing "rt"),
// not timed: a warm page makes at most one (a page addressed by object ids none), signed in or
// not, so that someone far from the region waits for one trip. A page that grows a second
// sequential call to KV, D1, R2, a Durable Object or the push worker fails here.
import { beforeAll, describe, expect, it } from "vitest";
import { Browser, apiCall, newForge, type Forge } from "./browser";
import { RepoBuilder, importRepo } from "./git-fixture";

let forge: Forge;
let owner: Browser;
const repo = new RepoBuilder();
let tip = "";
let first = "";

/** The sequential regional round trips the meter counted for a response (Server-Timing `rt`). */
function roundTrips(res: Response): number {
  const m = /(?:^|, )rt;desc="(\d+) sequential/.exec(res.headers.get("server-timing") ?? "");
  if (!m) throw new Error(`no round-trip count in Server-Timing: ${res.headers.get("server-timing")}`);
  return Number(m[1]);
}

beforeAll(async () => {
  forge = await newForge("rtt");
  first = repo.commit({ files: { "README.md": "# Demo\n", "a.txt": "one\n" }, message: "First commit" });
  tip = repo.commit({
    files: { "README.md": "# Demo\n\nMore.\n", "a.txt": "one\ntwo\n", "lib/x.js": "x\n" },
    parents: [first],
    message: "Second commit",
  });
  await importRepo(forge.slug, "demo", repo, { "refs/heads/main": tip });
  for (const title of ["First issue about speed", "Second issue"]) {
    const res = await apiCall(forge.host, "POST", "/api/v1/projects/demo/issues", forge.ownerToken, { title, body: "Body" });
    expect(res.status, await res.clone().text()).toBe(201);
  }
  owner = new Browser(forge.host);
  await owner.signIn("owner", forge.ownerPassword);
}, 120_000);

/**
 * Page kinds: path, and the most round trips signed out and signed in. Source pages read the refs
 * from the data centre's copy (services/edge-refs.ts) and objects from isolate caches: none signed
 * out; signed in, the session check is the one. Every other page: session and data side by side.
 */
const PAGES: [kind: string, path: () => string, signedOut: number, signedIn: number][] = [
  ["forge home", () => "/", 1, 1],
  ["project home", () => "/p/demo/", 1, 1],
  ["source home", () => "/p/demo/source/", 0, 1],
  ["tree by branch", () => "/p/demo/source/tree/main/lib", 0, 1],
  ["blob by branch", () => "/p/demo/source/blob/main/a.txt", 0, 1],
  ["log by branch", () => "/p/demo/source/log/main", 0, 1],
  ["commit", () => `/p/demo/source/commit/${tip}`, 0, 1],
  ["tree by commit id", () => `/p/demo/source/tree/${tip}/lib`, 0, 1],
  ["blob by commit id", () => `/p/demo/source/blob/${tip}/a.txt`, 0, 1],
  ["issue list", () => "/p/demo/issues/", 1, 1],
  ["issue page", () => "/p/demo/issues/1", 1, 1],
  ["issue search", () => "/p/demo/issues/search?q=speed", 1, 1],
];

/** The round trips of the third visit: the first fills the isolate's caches, the second may revalidate them. */
async function warm(get: () => Promise<Response>): Promise<{ status: number; rt: number; timing: string }> {
  let res: Response | null = null;
  for (let i = 0; i < 3; i++) {
    res = await get();
    await res.arrayBuffer();
  }
  return { status: res!.status, rt: roundTrips(res!), timing: res!.headers.get("server-timing") ?? "" };
}

describe("sequential regional round trips of warm pages", () => {
  for (const [kind, path, signedOut, signedIn] of PAGES) {
    it(`${kind}: at most ${signedOut} signed out`, async () => {
      const got = await warm(() => new Browser(forge.host).get(path()));
      expect(got.status).toBe(200);
      expect(got.rt, got.timing).toBeLessThanOrEqual(signedOut);
    });
    it(`${kind}: at most ${signedIn} signed in`, async () => {
      const got = await warm(() => owner.get(path()));
      expect(got.status).toBe(200);
      expect(got.rt, got.timing).toBeLessThanOrEqual(signedIn);
    });
  }

  it("API list: at most 1, anonymous and with a token", async () => {
    const anon = await warm(() => apiCall(forge.host, "GET", "/api/v1/projects/demo/issues"));
    expect(anon.status).toBe(200);
    expect(anon.rt, anon.timing).toBeLessThanOrEqual(1);
    const token = await warm(() => apiCall(forge.host, "GET", "/api/v1/projects/demo/issues", forge.ownerToken));
    expect(token.status).toBe(200);
    expect(token.rt, token.timing).toBeLessThanOrEqual(1);
  });
});
