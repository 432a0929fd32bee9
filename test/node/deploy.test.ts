// `npm run deploy` uploads each Worker's bindings from its wrangler file, replacing the list the
// Worker had: so no binding may exist per tenant, or a deploy would drop it. The dry run shows
// what would be uploaded; tenant databases are one Durable Object binding for every tenant.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { projectRoot } from "../../scripts/local/build";

/** The binding tables wrangler prints for each Worker, by Worker config: "NAME Resource" lines. */
function bindingTables(output: string): Record<string, string[]> {
  const tables: Record<string, string[]> = {};
  let current: string[] | null = null;
  for (const line of output.split("\n")) {
    const deploy = /^> npx wrangler deploy -c (\S+)/.exec(line);
    if (deploy) tables[deploy[1]!] = current = [];
    const binding = /^env\.([A-Z_]+) \(.*\)\s+(\S.*?)\s*$/.exec(line);
    if (binding && current) current.push(`${binding[1]} ${binding[2]}`);
  }
  return Object.fromEntries(Object.entries(tables).map(([k, v]) => [k, v.sort()]));
}

describe("npm run deploy", () => {
  it("uploads no binding per tenant: the edge's tenant databases are one Durable Object namespace", () => {
    const result = spawnSync("npm", ["run", "--silent", "deploy:dry-run"], {
      cwd: projectRoot,
      encoding: "utf8",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("env.REPO (RepoObject, defined in edgeforge-push)");
    expect(bindingTables(result.stdout)).toEqual({
      "wrangler.push.toml": [
        "CONTROL D1 Database",
        "DIRECTORY KV Namespace",
        "OBJECTS R2 Bucket",
        "POST_PUSH Queue",
        "REPO Durable Object",
      ],
      // The same list whatever the number of tenants: nothing a deploy could drop.
      "wrangler.toml": [
        "CONTROL D1 Database",
        "DIRECTORY KV Namespace",
        "FORGE_EVENTS Queue",
        "OBJECTS R2 Bucket",
        "PLATFORM_HOST Environment Variable",
        "PUSH Worker",
        "REPO Durable Object",
        "TELEMETRY Analytics Engine Dataset",
        "TELEMETRY_LOGS Queue",
        "TENANT_DB Durable Object",
        "WEBHOOKS Queue",
      ],
    });
    expect(result.stdout).toContain("env.TENANT_DB (TenantDatabase)");
  }, 180_000);

  it("only ever adds Durable Object classes (deleting or renaming one would destroy its data)", () => {
    for (const file of ["wrangler.toml", "wrangler.push.toml"]) {
      const toml = readFileSync(join(projectRoot, file), "utf8").replace(/#.*$/gm, "");
      const keys = [...toml.matchAll(/^\s*(\w+_classes)\s*=/gm)].map((m) => m[1]);
      expect(keys.length, file).toBeGreaterThan(0);
      for (const key of keys) expect(["new_sqlite_classes", "new_classes"], `${file}: ${key}`).toContain(key);
    }
    expect(readFileSync(join(projectRoot, "wrangler.toml"), "utf8")).toMatch(/new_sqlite_classes = \["TenantDatabase"\]/);
  });
});
