// `forge` command-line tool: provisioning and operating tenants through the platform admin API.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { api, CliError, UsageError } from "./client";
import { fields, table } from "./format";
import { bundleRepository, readBundle, uploadBundle } from "./import";
import { exportTenant, importTenant } from "./backup";
import { statSync } from "node:fs";
import { isIP } from "node:net";
import { MIGRATE_USAGE, migrateCommand } from "./migrate";
import { componentStats, pruneLogs, readLogs, timings, type LogFilter } from "./logs";

interface Tenant {
  id: string;
  slug: string;
  name: string;
  status: string;
  suspend_reason: string | null;
  hosts: string[];
  plan: { name: string; max_repo_bytes: number; max_upload_bytes: number };
  created_at: string;
}

const USAGE = `usage: forge <command> [options]

  tenants create <slug> --host <hostname> [--host ...] [--name <name>]
                 [--owner <username> --owner-email <email> [--owner-password <pw>]] [--no-wait]
  tenants list [--page N] [--limit N] [--all]
  tenants show <slug>
  tenants update <slug> [--name <name>] [--plan <name>] [--max-repo-bytes N] [--max-upload-bytes N]
  tenants suspend <slug> [--reason <text>]
  tenants resume <slug>
  tenants delete <slug> --confirm <slug>
  tenants export <slug> <file>
  tenants import <file> [--as <slug>] [--host <hostname> ...]
  hosts add|remove <slug> <hostname>
  projects create <slug> <project> [--private] [--description <text>] [--owner <username>]
  tokens create <slug> <username> [--scope read|write] [--name <name>]
  repos import <slug> <project> <bundle file or repository folder>
  repos compact <slug> <project>
${MIGRATE_USAGE}
  stats [--since 1h] [--until <date>] [--component git.*] [--tenant <id>] [--status 5xx] [--slice 1m]
  logs [--since 15m] [--until <date>] [--component git.upload-pack] [--tenant <id>] [--status 5xx] [--limit 50]
  logs prune --before 7d

Every command takes --json for machine-readable output.
Environment: FORGE_URL (default http://admin.localhost:8787), FORGE_ADMIN_TOKEN
(default: the local forge's token in .forge/state/admin-token). stats and logs ask the
forge's telemetry API, so they work the same against a deployed forge and the local one.`;

type Options = NonNullable<ParseArgsConfig["options"]>;

function parse(args: string[], options: Options, positionals: string[]) {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: { ...options, json: { type: "boolean" } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.positionals.length !== positionals.length) {
    throw new UsageError(`expected ${positionals.map((p) => `<${p}>`).join(" ") || "no arguments"}`);
  }
  return { values: parsed.values as Record<string, string | string[] | boolean | undefined>, args: parsed.positionals };
}

const str = (v: unknown) => (typeof v === "string" ? v : undefined);
const int = (v: unknown, name: string) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer`);
  return n;
};

const enc = encodeURIComponent;

function printTenant(t: Tenant, json: boolean): void {
  if (json) return void console.log(JSON.stringify(t, null, 2));
  console.log(
    fields([
      ["slug", t.slug],
      ["name", t.name],
      ["status", t.status + (t.suspend_reason ? ` (${t.suspend_reason})` : "")],
      ["hosts", t.hosts.join(", ")],
      ["plan", `${t.plan.name} (repo ${t.plan.max_repo_bytes} B, upload ${t.plan.max_upload_bytes} B)`],
      ["id", t.id],
      ["created", t.created_at],
    ]),
  );
}

async function waitUntilActive(slug: string): Promise<Tenant> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { data } = await api<Tenant>("GET", `/api/v1/tenants/${enc(slug)}`);
    if (data.status !== "provisioning" || Date.now() > deadline) return data;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function logFilter(v: Record<string, unknown>, defaultSince: string): LogFilter {
  return {
    since: str(v.since) ?? defaultSince,
    until: str(v.until),
    component: str(v.component),
    tenant: str(v.tenant),
    status: str(v.status),
  };
}

const logOptions = {
  since: { type: "string" },
  until: { type: "string" },
  component: { type: "string" },
  tenant: { type: "string" },
  status: { type: "string" },
} as const;

/** Commands with no group (`forge stats`, `forge logs`). */
const localCommands: Record<string, (argv: string[]) => Promise<void>> = {
  async stats(argv) {
    const { values: v } = parse(argv, { ...logOptions, slice: { type: "string" } }, []);
    const { rows, truncated } = await componentStats(logFilter(v, "1h"), str(v.slice));
    if (v.json) return void console.log(JSON.stringify(rows, null, 2));
    console.log(
      table(
        ["TIME", "COMPONENT", "REQUESTS", "5XX", "P50 MS", "P95 MS", "P99 MS", "MAX MS"],
        rows.map((r) => [r.slice, r.component, r.requests, r.errors, r.p50, r.p95, r.p99, r.max]),
      ),
    );
    if (truncated) console.error("(the range holds more logs than one query reads: these figures cover part of it)");
  },
  async logs(argv) {
    if (argv[0] === "prune") {
      const { values: v } = parse(argv.slice(1), { before: { type: "string" } }, []);
      if (!str(v.before)) throw new UsageError("logs prune needs --before, e.g. --before 7d");
      const done = await pruneLogs(str(v.before)!);
      if (v.json) return void console.log(JSON.stringify(done));
      return void console.log(`deleted ${done.deleted} log objects of ${done.days} component-days`);
    }
    const { values: v } = parse(argv, { ...logOptions, limit: { type: "string" } }, []);
    const limit = int(v.limit, "limit") ?? 50;
    const { lines, total, truncated } = await readLogs(logFilter(v, "15m"), Math.min(limit, 1000));
    if (v.json) return void console.log(lines.map((l) => JSON.stringify(l)).join("\n"));
    console.log(
      table(
        ["TIME", "REQUEST ID", "COMPONENT", "TENANT", "STATUS", "MS", "BYTES", "REQUEST", "SUB-TIMINGS"],
        lines.map((l) => [
          l.t,
          l.id,
          l.component,
          l.tenant ?? "",
          l.status + (l.aborted ? " (aborted)" : ""),
          l.ms,
          l.bytes,
          `${l.method} ${l.host}${l.path}`,
          timings(l),
        ]),
      ),
    );
    if (total > lines.length)
      console.error(`(the newest ${lines.length} of ${total} lines${truncated ? "; the range was cut short" : ""})`);
  },
};

const commands: Record<string, Record<string, (argv: string[]) => Promise<void>>> = {
  tenants: {
    async create(argv) {
      const { values: v, args } = parse(
        argv,
        {
          host: { type: "string", multiple: true },
          name: { type: "string" },
          owner: { type: "string" },
          "owner-email": { type: "string" },
          "owner-password": { type: "string" },
          "no-wait": { type: "boolean" },
        },
        ["slug"],
      );
      const slug = args[0]!;
      const hosts = (v.host as string[] | undefined) ?? [];
      if (hosts.length === 0) throw new UsageError("tenants create needs at least one --host");
      // Checked here too: the default owner e-mail is made from the first host.
      const ip = hosts.find(
        (h) =>
          isIP(
            h
              .trim()
              .replace(/^\[(.*)\]$/, "$1")
              .replace(/\.$/, ""),
          ) !== 0,
      );
      if (ip) throw new UsageError(`--host "${ip}" is an IP address; a tenant host must be a DNS name (e.g. code.example.com)`);
      const username = str(v.owner) ?? "admin";
      const owner = {
        username,
        email: str(v["owner-email"]) ?? `${username}@${hosts[0]}`,
        ...(v["owner-password"] ? { password: str(v["owner-password"]) } : {}),
      };
      const { data } = await api<{ tenant: Tenant; owner: { username: string; token: string } }>("POST", "/api/v1/tenants", {
        slug,
        name: str(v.name) ?? slug,
        hosts,
        owner,
      });
      const tenant = v["no-wait"] ? data.tenant : await waitUntilActive(slug);
      if (v.json) return void console.log(JSON.stringify({ tenant, owner: data.owner }, null, 2));
      printTenant(tenant, false);
      console.log(`\nowner ${data.owner.username}'s API token (shown once): ${data.owner.token}`);
    },
    async list(argv) {
      const { values: v } = parse(argv, { page: { type: "string" }, limit: { type: "string" }, all: { type: "boolean" } }, []);
      const limit = int(v.limit, "limit") ?? (v.all ? 100 : 30);
      let page = int(v.page, "page") ?? 1;
      const items: Tenant[] = [];
      let total = 0;
      for (;;) {
        const { data, res } = await api<Tenant[]>("GET", `/api/v1/tenants?page=${page}&limit=${limit}`);
        items.push(...data);
        total = Number(res.headers["x-total-count"] ?? items.length);
        if (!v.all || !String(res.headers.link ?? "").includes('rel="next"')) break;
        page++;
      }
      if (v.json) return void console.log(JSON.stringify(items, null, 2));
      console.log(
        table(
          ["SLUG", "NAME", "STATUS", "HOSTS"],
          items.map((t) => [t.slug, t.name, t.status, t.hosts.join(",")]),
        ),
      );
      if (!v.all && total > items.length) console.log(`\n${items.length} of ${total} tenants; --all lists every one`);
    },
    async show(argv) {
      const { values: v, args } = parse(argv, {}, ["slug"]);
      printTenant((await api<Tenant>("GET", `/api/v1/tenants/${enc(args[0]!)}`)).data, !!v.json);
    },
    async update(argv) {
      const { values: v, args } = parse(
        argv,
        {
          name: { type: "string" },
          plan: { type: "string" },
          "max-repo-bytes": { type: "string" },
          "max-upload-bytes": { type: "string" },
        },
        ["slug"],
      );
      const plan = {
        ...(v.plan ? { name: str(v.plan) } : {}),
        ...(v["max-repo-bytes"] ? { max_repo_bytes: int(v["max-repo-bytes"], "max-repo-bytes") } : {}),
        ...(v["max-upload-bytes"] ? { max_upload_bytes: int(v["max-upload-bytes"], "max-upload-bytes") } : {}),
      };
      const body = { ...(v.name ? { name: str(v.name) } : {}), ...(Object.keys(plan).length ? { plan } : {}) };
      if (Object.keys(body).length === 0) throw new UsageError("nothing to update: give --name or plan options");
      printTenant((await api<Tenant>("PATCH", `/api/v1/tenants/${enc(args[0]!)}`, body)).data, !!v.json);
    },
    async suspend(argv) {
      const { values: v, args } = parse(argv, { reason: { type: "string" } }, ["slug"]);
      const body = v.reason ? { reason: str(v.reason) } : {};
      printTenant((await api<Tenant>("POST", `/api/v1/tenants/${enc(args[0]!)}/suspend`, body)).data, !!v.json);
    },
    async resume(argv) {
      const { values: v, args } = parse(argv, {}, ["slug"]);
      printTenant((await api<Tenant>("POST", `/api/v1/tenants/${enc(args[0]!)}/resume`, {})).data, !!v.json);
    },
    async delete(argv) {
      const { values: v, args } = parse(argv, { confirm: { type: "string" } }, ["slug"]);
      if (!v.confirm) throw new UsageError(`deleting needs --confirm ${args[0]}`);
      const { data } = await api("DELETE", `/api/v1/tenants/${enc(args[0]!)}?confirm=${enc(str(v.confirm)!)}`);
      console.log(v.json ? JSON.stringify(data) : `deleted tenant ${args[0]}`);
    },
    async export(argv) {
      const { values: v, args } = parse(argv, {}, ["slug", "file"]);
      const { bytes } = await exportTenant(args[0]!, args[1]!);
      console.log(
        v.json ? JSON.stringify({ slug: args[0], file: args[1], bytes }) : `exported ${args[0]} to ${args[1]} (${bytes} bytes)`,
      );
    },
    async import(argv) {
      const { values: v, args } = parse(argv, { as: { type: "string" }, host: { type: "string", multiple: true } }, ["file"]);
      const progress = (m: string) => !v.json && process.stderr.write(`${m}\n`);
      const t = await importTenant(args[0]!, { slug: str(v.as), hosts: v.host as string[] | undefined }, progress);
      const summary = `restored ${t.slug} (${t.hosts.join(", ")}): ${t.rows} rows, ${t.objects} files, ${t.repositories} repositories`;
      console.log(v.json ? JSON.stringify(t, null, 2) : summary);
    },
  },
  hosts: {
    async add(argv) {
      const { values: v, args } = parse(argv, {}, ["slug", "hostname"]);
      printTenant((await api<Tenant>("POST", `/api/v1/tenants/${enc(args[0]!)}/hosts/${enc(args[1]!)}`)).data, !!v.json);
    },
    async remove(argv) {
      const { values: v, args } = parse(argv, {}, ["slug", "hostname"]);
      printTenant((await api<Tenant>("DELETE", `/api/v1/tenants/${enc(args[0]!)}/hosts/${enc(args[1]!)}`)).data, !!v.json);
    },
  },
  projects: {
    async create(argv) {
      const { values: v, args } = parse(
        argv,
        { private: { type: "boolean" }, description: { type: "string" }, owner: { type: "string" } },
        ["slug", "project"],
      );
      const { data } = await api<{ name: string; private: boolean }>("POST", `/api/v1/tenants/${enc(args[0]!)}/projects`, {
        name: args[1],
        private: !!v.private,
        ...(v.description ? { description: str(v.description) } : {}),
        ...(v.owner ? { owner: str(v.owner) } : {}),
      });
      console.log(
        v.json ? JSON.stringify(data, null, 2) : `created ${data.private ? "private " : ""}project ${data.name} in ${args[0]}`,
      );
    },
  },
  repos: {
    async compact(argv) {
      const { values: v, args } = parse(argv, {}, ["slug", "project"]);
      const { data } = await api<{ compacted: number; deleted: number }>(
        "POST",
        `/api/v1/tenants/${enc(args[0]!)}/projects/${enc(args[1]!)}/repository/compact`,
      );
      console.log(
        v.json ? JSON.stringify(data) : `compacted ${data.compacted} packs into one; deleted ${data.deleted} old packs`,
      );
    },
    async import(argv) {
      const { values: v, args } = parse(argv, {}, ["slug", "project", "path"]);
      const [slug, project, path] = args as [string, string, string];
      let stat: ReturnType<typeof statSync>;
      try {
        stat = statSync(path);
      } catch {
        throw new CliError(`${path} does not exist`);
      }
      const { bundle, cleanup } = stat.isDirectory() ? bundleRepository(path) : { bundle: readBundle(path), cleanup: () => {} };
      try {
        const progress = (m: string) => {
          if (!v.json) process.stderr.write(`${m}\n`);
        };
        const result = await uploadBundle(
          async (method, p, body, raw) => (await api(method, p, body, raw)).data as never,
          slug,
          project,
          bundle,
          progress,
        );
        if (v.json) console.log(JSON.stringify(result, null, 2));
        else console.log(`imported ${result.objects} objects and ${result.refs} refs into ${slug}/${project} (${result.pack})`);
      } finally {
        cleanup();
      }
    },
  },
  tokens: {
    async create(argv) {
      const { values: v, args } = parse(argv, { scope: { type: "string" }, name: { type: "string" } }, ["slug", "username"]);
      const scope = str(v.scope) ?? "write";
      if (scope !== "read" && scope !== "write") throw new UsageError("--scope is read or write");
      const { data } = await api<{ token: string; scope: string; username: string }>(
        "POST",
        `/api/v1/tenants/${enc(args[0]!)}/users/${enc(args[1]!)}/tokens`,
        { scope, ...(v.name ? { name: str(v.name) } : {}) },
      );
      console.log(v.json ? JSON.stringify(data, null, 2) : data.token);
    },
  },
};

async function main(argv: string[]): Promise<number> {
  const [group, action, ...rest] = argv;
  if (!group || group === "help" || group === "--help" || group === "-h") {
    console.log(USAGE);
    return group ? 0 : 2;
  }
  const local = group === "migrate" ? migrateCommand : localCommands[group];
  const run = local
    ? () => local([action, ...rest].filter((a): a is string => a !== undefined))
    : commands[group]?.[action ?? ""];
  if (!run) {
    console.error(`forge: unknown command "${[group, action].filter(Boolean).join(" ")}"\n\n${USAGE}`);
    return 2;
  }
  try {
    await run(rest);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`forge ${[group, action].filter((a) => a && !a.startsWith("-")).join(" ")}: ${err.message}`);
      return 2;
    }
    if (err instanceof CliError) {
      console.error(`forge: ${err.message}`);
      return 1;
    }
    console.error(`forge: ${(err as Error).message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
