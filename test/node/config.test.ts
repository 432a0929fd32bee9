// The deployable configuration stays consistent: wrangler files, the local runner, migrations.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { projectRoot } from "../../scripts/local/build";
import { miniflareOptions } from "../../scripts/local/config";
import { generatedPath, renderModule } from "../../scripts/bundle-migrations";

const bindingsOf = (toml: string) =>
  [...toml.matchAll(/^\s*(?:binding|name)\s*=\s*"([A-Z_]+)"/gm)].map((m) => m[1]).sort();

describe("configuration", () => {
  it("runs the local workers with the bindings wrangler deploys", () => {
    const options = miniflareOptions({
      scripts: { edge: "edge.js", push: "push.js" },
      persistRoot: "/tmp/x",
      platformHost: "admin.localhost",
      adminToken: "t",
      tenantDatabases: [],
      provisioner: async () => new Response(),
    });
    const workers = options.workers as Record<string, Record<string, object>>[];
    const local = (w: Record<string, Record<string, object>>) =>
      [
        ...Object.keys(w.kvNamespaces ?? {}),
        ...Object.keys(w.d1Databases ?? {}),
        ...Object.keys(w.r2Buckets ?? {}),
        ...Object.keys(w.durableObjects ?? {}),
        ...Object.keys(w.queueProducers ?? {}),
        ...Object.keys(w.serviceBindings ?? {}).filter((b) => b !== "PROVISIONER"),
      ].sort();
    expect(local(workers[0]!)).toEqual(bindingsOf(readFileSync(join(projectRoot, "wrangler.toml"), "utf8")));
    expect(local(workers[1]!)).toEqual(bindingsOf(readFileSync(join(projectRoot, "wrangler.push.toml"), "utf8")));
  });

  it("bundles the current SQL migrations into the workers", () => {
    expect(readFileSync(generatedPath, "utf8")).toBe(renderModule());
  });

  it("keeps the push worker off the internet: no workers.dev address, no preview URLs, no routes", () => {
    // It trusts the x-forge-* headers of the edge worker; only the service binding may reach it.
    const lines = readFileSync(join(projectRoot, "wrangler.push.toml"), "utf8")
      .split("\n")
      .map((l) => l.replace(/#.*$/, "").trim())
      .filter(Boolean);
    const firstTable = lines.findIndex((l) => l.startsWith("["));
    const topLevel = firstTable < 0 ? lines : lines.slice(0, firstTable);
    const value = (key: string) => topLevel.find((l) => l.split("=")[0]!.trim() === key)?.split("=")[1]?.trim();
    expect(value("workers_dev")).toBe("false");
    expect(value("preview_urls")).toBe("false");
    // Anywhere in the file (environments too): a route or routes key, or a [[routes]] table.
    expect(lines.filter((l) => /^(?:\[\[?\s*(?:[\w."-]+\.)?routes?\s*\]\]?|(?:[\w."-]+\.)?"?routes?"?\s*=)/.test(l))).toEqual([]);
  });

  it("passes wrangler deploy --dry-run for both workers", () => {
    const result = spawnSync("npm", ["run", "--silent", "deploy:dry-run"], { cwd: projectRoot, encoding: "utf8" });
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("env.REPO (RepoObject, defined in edgeforge-push)");
  }, 120_000);
});
