// The deployable configuration stays consistent: wrangler files, the local runner, migrations.
import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { projectRoot } from "../../scripts/local/build";
import { miniflareOptions } from "../../scripts/local/config";
import { generatedPath, renderModule } from "../../scripts/bundle-migrations";

const bindingsOf = (toml: string) => [...toml.matchAll(/^\s*(?:binding|name)\s*=\s*"([A-Z_]+)"/gm)].map((m) => m[1]).sort();

describe("configuration", () => {
  it("runs the local workers with the bindings wrangler deploys", () => {
    const options = miniflareOptions({
      scripts: { edge: "edge.js", push: "push.js" },
      persistRoot: "/tmp/x",
      platformHost: "admin.localhost",
      adminToken: "t",
      legacyTenantDatabases: [],
    });
    const workers = options.workers as Record<string, Record<string, object>>[];
    const local = (w: Record<string, Record<string, object>>) =>
      [
        ...Object.keys(w.kvNamespaces ?? {}),
        ...Object.keys(w.d1Databases ?? {}),
        ...Object.keys(w.r2Buckets ?? {}),
        ...Object.keys(w.durableObjects ?? {}),
        ...Object.keys(w.queueProducers ?? {}),
        ...Object.keys(w.analyticsEngineDatasets ?? {}),
        ...Object.keys(w.serviceBindings ?? {}),
      ].sort();
    expect(local(workers[0]!)).toEqual(bindingsOf(readFileSync(join(projectRoot, "wrangler.toml"), "utf8")));
    expect(local(workers[1]!)).toEqual(bindingsOf(readFileSync(join(projectRoot, "wrangler.push.toml"), "utf8")));
  });

  it("binds tenant databases as one Durable Object namespace, and D1 only for tenants made before it", () => {
    const options = (legacy: string[]) =>
      miniflareOptions({
        scripts: { edge: "edge.js", push: "push.js" },
        persistRoot: "/tmp/x",
        platformHost: "admin.localhost",
        adminToken: "t",
        legacyTenantDatabases: legacy,
      }).workers as Record<string, Record<string, object>>[];
    expect(options([])[0]!.durableObjects).toMatchObject({ TENANT_DB: { className: "TenantDatabase", useSQLite: true } });
    expect(Object.keys(options([])[0]!.d1Databases!)).toEqual(["CONTROL"]);
    expect(Object.keys(options(["DB_LOCAL_0001"])[0]!.d1Databases!)).toEqual(["CONTROL", "DB_LOCAL_0001"]);
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
    const value = (key: string) =>
      topLevel
        .find((l) => l.split("=")[0]!.trim() === key)
        ?.split("=")[1]
        ?.trim();
    expect(value("workers_dev")).toBe("false");
    expect(value("preview_urls")).toBe("false");
    // Anywhere in the file (environments too): a route or routes key, or a [[routes]] table.
    expect(lines.filter((l) => /^(?:\[\[?\s*(?:[\w."-]+\.)?routes?\s*\]\]?|(?:[\w."-]+\.)?"?routes?"?\s*=)/.test(l))).toEqual([]);
  });

  it("CI runs the README's test commands in a fresh copy of the repository, in a temporary folder", () => {
    const readme = readFileSync(join(projectRoot, "README.md"), "utf8");
    const tests = readme.slice(readme.indexOf("\n## Tests\n"));
    const block = /```sh\n([\s\S]*?)```/.exec(tests)?.[1];
    const commands = (block ?? "")
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
    expect(commands.at(-1)).toBe("npm test");
    const ci = readFileSync(join(projectRoot, ".ci", "run"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    const made = ci.findIndex((l) => /^tmp="\$\(mktemp -d\)"$/.test(l));
    const copied = ci.findIndex((l) => /^git clone -q "\$PWD" "\$tmp\/edgeforge"$/.test(l));
    const entered = ci.indexOf('cd "$tmp/edgeforge"');
    expect(made, ".ci/run makes a temporary folder").toBeGreaterThanOrEqual(0);
    expect(copied, ".ci/run clones the repository into it").toBeGreaterThan(made);
    expect(entered, ".ci/run goes into the copy").toBeGreaterThan(copied);
    // After going into the copy: exactly the README's commands, in order, the test command last.
    const after = ci.slice(entered + 1).filter((l) => !l.startsWith("export "));
    expect(after).toEqual(commands);
  });

  it("reads nothing outside the repository (no team folder beside it)", () => {
    // The parent's shared folder, spelt as a path or as join() arguments (built here so that this
    // file does not name it).
    const parentShared = new RegExp([`${String.raw`\.\./`}shared`, `${String.raw`"\.\.", "`}shared"`].join("|"));
    const files = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
      cwd: projectRoot,
      encoding: "utf8",
    })
      .stdout.split("\0")
      .filter((f) => /\.(ts|tsx|js|md|toml|json)$|^\.ci\//.test(f) && existsSync(join(projectRoot, f)));
    expect(files.length).toBeGreaterThan(50);
    const outside = files.filter((f) => parentShared.test(readFileSync(join(projectRoot, f), "utf8")));
    expect(outside).toEqual([]);
  });
});
