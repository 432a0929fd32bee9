// FORGE_STORAGE_PROCESS=1 (benchmarks' mode, scripts/local/storage-process.ts): R2, KV and D1 served
// by a second workerd, R2 through workerd's own client. The demo forge's start-up (a tenant in D1
// and KV, an import through R2's multipart upload, the commit-graph job) runs on it, its pages read
// through it, and the state it leaves is the one a forge without the mode reads.
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "../../bin/cli/http";
import { workerdPids } from "../../bench/lib/rss";
import { inspectorTargets } from "../../bench/lib/cpu-slices";
import { threadCpuMs } from "../../bench/lib/sched";
import { freePort, startForge, type RunningForge } from "./runner";

const stateDir = mkdtempSync(join(tmpdir(), "edgeforge-storage-"));
let forge: RunningForge | undefined;
/** Storage calls made to look for descriptors left open. */
const CALLS = 120;

afterAll(async () => {
  await forge?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

/** The demo project's tree entries and the page of the first file it links to. */
async function demoPages(f: RunningForge): Promise<{ entries: string[]; blob: string }> {
  const tree = await request(f.url("demo.localhost", "/p/demo/source/"));
  expect(tree.status).toBe(200);
  const link = /href="(\/p\/demo\/source\/blob\/[^"]+)"/.exec(tree.text())?.[1];
  expect(link).toBeDefined();
  const blob = await request(f.url("demo.localhost", link!.replaceAll("&amp;", "&")));
  expect(blob.status).toBe(200);
  // The tree page's last-commit column fills in over time: its entries are what must match.
  return {
    entries: [...tree.text().matchAll(/data-entry="([^"]+)"/g)].map((m) => m[1]!),
    blob: blob.text().replaceAll(`:${f.port}/`, ":<port>/"),
  };
}

describe("the storage process", () => {
  it("serves the forge's R2, KV and D1 from a second workerd, on the state a plain forge reads", async () => {
    const inspector = await freePort();
    forge = await startForge({
      stateDir,
      env: { FORGE_STORAGE_PROCESS: "1", FORGE_INSPECTOR_PORT: String(inspector) },
      startTimeoutMs: 300_000,
    });
    const { storage } = workerdPids(forge.child.pid!);
    expect(storage).toBeDefined();
    // R2 is workerd's own client, talking to the storage process (scripts/local/storage-plugin.ts):
    // no JavaScript R2 client (Miniflare's remote-binding proxy) runs in the forge's workerd.
    const isolates = (await inspectorTargets(inspector)).map((t) => t.id);
    expect(isolates).toContain("core:user:edge");
    expect(isolates.filter((id) => id.startsWith("r2:"))).toEqual([]);
    // A cold page's reads run in the storage process: its thread works while the page is served.
    const before = threadCpuMs(storage!);
    const pages = await demoPages(forge);
    expect(threadCpuMs(storage!)).toBeGreaterThan(before);
    // Storage calls leave no connection open behind them: Miniflare's remote-binding client opened a
    // WebSocket RPC session per call (one descriptor on each side, never closed) until the storage
    // process refused them. Each listing of the tenants reads the platform database (D1).
    const open = () => readdirSync(`/proc/${storage}/fd`).length;
    const fds = open();
    for (let i = 0; i < CALLS; i++) expect((await forge.admin("GET", "/api/v1/tenants")).status).toBe(200);
    expect(open() - fds).toBeLessThan(CALLS / 4);
    await forge.stop();

    forge = await startForge({ stateDir, startTimeoutMs: 300_000 });
    expect(workerdPids(forge.child.pid!).storage).toBeUndefined();
    expect(await demoPages(forge)).toEqual(pages);
    // Two start-ups, each importing the demo repository on the first: minutes on a loaded machine.
  }, 600_000);
});
