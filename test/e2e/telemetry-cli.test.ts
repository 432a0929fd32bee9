// `forge stats` and `forge logs` through FORGE_URL and the admin token: the telemetry API of the
// local forge (log lines batched by its queue into R2), filtered by tenant, component and status.
import { beforeAll, describe, expect, it } from "vitest";
import { request } from "../../bin/cli/http";
import { sharedForge, type RunningForge, type TestTenant } from "./runner";

let forge: RunningForge;
let tenant: TestTenant;
let tenantId: string;
const homeIds: string[] = [];
let missingId: string;

interface Line {
  id: string;
  component: string;
  tenant: string;
  status: number;
  calls: Record<string, number>;
}

async function logs(...args: string[]): Promise<Line[]> {
  const run = await forge.cli("logs", "--json", "--since", "30m", "--tenant", tenantId, ...args);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout.trim()
    ? run.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Line)
    : [];
}

beforeAll(async () => {
  forge = await sharedForge();
  tenant = await forge.createTenant("telemetry");
  tenantId = (JSON.parse((await forge.admin("GET", `/api/v1/tenants/${tenant.slug}`)).text()) as { id: string }).id;
  for (let i = 0; i < 3; i++) homeIds.push(String((await request(forge.url(tenant.host, "/"))).headers["x-request-id"]));
  const missing = await request(forge.url(tenant.host, "/no/such/page"));
  expect(missing.status).toBe(404);
  missingId = String(missing.headers["x-request-id"]);
  // The queue writes lines to R2 within a second or so: ask until all four are there (the hook's timeout bounds it).
  for (;;) {
    const ids = new Set((await logs("--limit", "1000")).map((l) => l.id));
    if ([...homeIds, missingId].every((id) => ids.has(id))) break;
    await new Promise((r) => setTimeout(r, 200));
  }
});

describe("forge stats and forge logs against the forge's API", () => {
  it("lists one tenant's lines, by status, each with its request id and sub-timings", async () => {
    const notFound = await logs("--status", "4xx");
    expect(notFound.map((l) => l.id)).toEqual([missingId]);
    expect(notFound[0]).toMatchObject({ tenant: tenantId, status: 404 });
    const home = await logs("--component", "web.home");
    for (const id of homeIds) expect(home.map((l) => l.id)).toContain(id);
    expect(home.every((l) => l.component === "web.home" && l.tenant === tenantId && typeof l.calls.kv === "number")).toBe(true);
    const table = await forge.cli("logs", "--since", "30m", "--tenant", tenantId, "--status", "404");
    expect(table.stdout).toContain(missingId);
    expect(table.stdout).toContain("SUB-TIMINGS");
  });

  it("sums up requests, 5xx and latency quantiles per component", async () => {
    const run = await forge.cli("stats", "--since", "30m", "--tenant", tenantId, "--json");
    expect(run.code, run.stderr).toBe(0);
    const rows = JSON.parse(run.stdout) as { component: string; requests: number; errors: number; p50: number; p99: number }[];
    const home = rows.find((r) => r.component === "web.home")!;
    expect(home.requests).toBeGreaterThanOrEqual(homeIds.length);
    expect(home.p99).toBeGreaterThanOrEqual(home.p50);
    expect(rows.every((r) => r.errors === 0)).toBe(true);
    const sliced = await forge.cli("stats", "--since", "30m", "--tenant", tenantId, "--slice", "1m", "--json");
    const slices = JSON.parse(sliced.stdout) as { slice: string }[];
    expect(slices.every((s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(s.slice))).toBe(true);
  });

  it("says what is wrong with a bad range, and prunes nothing of today", async () => {
    const bad = await forge.cli("stats", "--since", "yesterday-ish");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("neither a duration like 15m nor an ISO date");
    const prune = await forge.cli("logs", "prune", "--before", "1d", "--json");
    expect(prune.code, prune.stderr).toBe(0);
    expect((await logs("--status", "4xx")).map((l) => l.id)).toEqual([missingId]);
  });
});
