// A source page rendered afresh gives the isolate's other requests a turn before and after its
// render (routes/web/source/page.tsx pageTurn): locally a page whose reads all come from caches and
// Miniflare's in-process services waits on no socket, and workerd took no new request in until it
// was done (issue 19: during cold pages the warm page got about one turn per cold page).
import { beforeAll, describe, expect, it } from "vitest";
import { pageTurns } from "../../src/routes/web/source/page";
import { Browser, newForge, type Forge } from "./browser";
import { RepoBuilder, importRepo } from "./git-fixture";

let forge: Forge;
let commit: string;

beforeAll(async () => {
  forge = await newForge("turns");
  const repo = new RepoBuilder();
  commit = repo.commit({ files: { "src/a.ts": "export const a = 1;\n", "README.md": "# A\n" }, message: "First" });
  await importRepo(forge.slug, "demo", repo, { "refs/heads/main": commit });
}, 60_000);

describe("source pages give way", () => {
  it("twice for a page rendered afresh, and not for one served from the page caches", async () => {
    const browser = new Browser(forge.host);
    for (const path of [`/p/demo/source/blob/${commit}/src/a.ts`, `/p/demo/source/tree/${commit}/src`]) {
      const before = pageTurns.count;
      const res = await browser.get(path);
      expect(res.status, path).toBe(200);
      await res.text();
      expect(pageTurns.count - before, path).toBe(2);
      // Server-Timing tells the turns the isolate gave while the page ran (bench/warm-probe.ts reads them).
      const turns = Number(/turns;desc="(\d+) turns"/.exec(res.headers.get("server-timing") ?? "")?.[1] ?? 0);
      expect(turns, path).toBeGreaterThanOrEqual(2);
      const again = pageTurns.count;
      const cached = await browser.get(path);
      expect(cached.status, path).toBe(200);
      await cached.text();
      expect(pageTurns.count - again, path).toBe(0);
      expect(cached.headers.get("server-timing"), path).not.toContain("turns;");
    }
  });
});
