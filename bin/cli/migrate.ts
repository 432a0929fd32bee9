// `forge migrate`: brings tenant databases to this release's schema through the admin API, a few
// tenants at a time, with progress; `forge migrate status` shows where the fleet stands.
import { parseArgs } from "node:util";
import { api, CliError, UsageError } from "./client";
import { table } from "./format";

interface Report {
  slug: string;
  outcome: "migrated" | "current" | "failed";
  before: number | null;
  after: number | null;
  target: number;
  applied: string[];
  error: string | null;
}

interface Plan {
  slug: string;
  version: number | null;
  target: number;
  pending: string[];
  error: string | null;
}

interface Status {
  target: number;
  tags: string[];
  total: number;
  versions: { version: number; tenants: number }[];
  pending: number;
  failed: number;
  failures: { slug: string; version: number; attempted_at: string | null; error: string }[];
}

export const MIGRATE_USAGE = `  migrate [--tenant <slug> ...] [--dry-run] [--concurrency N]
  migrate status`;

const enc = encodeURIComponent;
const MAX_CONCURRENCY = 32;

function options(argv: string[]) {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        tenant: { type: "string", multiple: true },
        "dry-run": { type: "boolean" },
        concurrency: { type: "string" },
        json: { type: "boolean" },
      },
      allowPositionals: true,
      strict: true,
    });
    return { values, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Every tenant the platform says is behind or failed last time, by slug. */
async function pendingSlugs(): Promise<string[]> {
  const slugs: string[] = [];
  let after: string | null = null;
  type Page = { tenants: { slug: string }[]; next: string | null };
  do {
    const { data }: { data: Page } = await api<Page>(
      "GET",
      `/api/v1/migrations/pending?limit=1000${after ? `&after=${enc(after)}` : ""}`,
    );
    slugs.push(...data.tenants.map((t) => t.slug));
    after = data.next;
  } while (after);
  return slugs;
}

/** A progress line redrawn in place on a terminal; nothing otherwise. */
class Progress {
  private drawn = false;
  constructor(
    private readonly total: number,
    private readonly on: boolean,
  ) {}

  draw(done: number, failed: number): void {
    if (!this.on) return;
    const width = 30;
    const full = this.total === 0 ? width : Math.round((done / this.total) * width);
    const bar = `${"#".repeat(full)}${"-".repeat(width - full)}`;
    process.stderr.write(`\r\x1b[Kmigrating [${bar}] ${done}/${this.total}${failed ? `, ${failed} failed` : ""}`);
    this.drawn = true;
  }

  /** Prints a line above the bar. */
  note(line: string): void {
    if (this.drawn) process.stderr.write("\r\x1b[K");
    console.log(line);
  }

  end(): void {
    if (this.drawn) process.stderr.write("\n");
  }
}

/** Runs `work` over `items`, `concurrency` at a time, until done or `stopped()` says stop. */
async function pool<T>(items: T[], concurrency: number, stopped: () => boolean, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stopped()) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

const describe = (r: Report) =>
  r.outcome === "failed"
    ? `${r.slug}: FAILED at version ${r.after ?? "?"}: ${r.error}`
    : r.outcome === "current"
      ? `${r.slug}: up to date (version ${r.after})`
      : `${r.slug}: version ${r.before} -> ${r.after} (${r.applied.join(", ")})`;

async function status(json: boolean): Promise<void> {
  const { data } = await api<Status>("GET", "/api/v1/migrations/status");
  if (json) return void console.log(JSON.stringify(data, null, 2));
  console.log(
    table(
      ["VERSION", "TENANTS", "STATE"],
      data.versions.map((v) => [
        v.version,
        v.tenants,
        v.version === data.target
          ? `current (${data.tags[v.version - 1] ?? "none"})`
          : v.version < data.target
            ? "behind"
            : "ahead",
      ]),
    ),
  );
  console.log(
    data.pending === 0
      ? `\nall ${data.total} tenants are on version ${data.target}`
      : `\n${data.pending} of ${data.total} tenants to migrate to version ${data.target}: run forge migrate`,
  );
  if (data.failed > 0) {
    console.log(`\n${data.failed} tenants failed their last migration:`);
    console.log(
      table(
        ["SLUG", "VERSION", "ATTEMPTED", "ERROR"],
        data.failures.map((f) => [f.slug, f.version, f.attempted_at ?? "", f.error]),
      ),
    );
  }
}

async function dryRun(slugs: string[], concurrency: number, json: boolean): Promise<void> {
  const plans: Plan[] = [];
  await pool(
    slugs,
    concurrency,
    () => false,
    async (slug) => {
      plans.push((await api<Plan>("GET", `/api/v1/tenants/${enc(slug)}/migrations`)).data);
    },
  );
  plans.sort((a, b) => a.slug.localeCompare(b.slug));
  if (json) return void console.log(JSON.stringify(plans, null, 2));
  for (const p of plans) {
    const what = p.pending.length ? `would apply ${p.pending.join(", ")}` : "nothing to apply";
    console.log(`${p.slug}: version ${p.version ?? "?"} of ${p.target}: ${what}${p.error ? ` (last error: ${p.error})` : ""}`);
  }
  console.log(`\ndry run: ${plans.filter((p) => p.pending.length).length} of ${plans.length} tenants would be migrated`);
}

export async function migrateCommand(argv: string[]): Promise<void> {
  const { values: v, positionals } = options(argv);
  const json = !!v.json;
  if (positionals[0] === "status" && positionals.length === 1) return status(json);
  if (positionals.length > 0) throw new UsageError(`unknown argument "${positionals[0]}"\n\n${MIGRATE_USAGE}`);
  const concurrency = v.concurrency === undefined ? 4 : Number(v.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY)
    throw new UsageError(`--concurrency must be an integer from 1 to ${MAX_CONCURRENCY}`);
  const slugs = v.tenant?.length ? [...new Set(v.tenant)] : await pendingSlugs();
  if (v["dry-run"]) return dryRun(slugs, concurrency, json);
  if (slugs.length === 0)
    return void console.log(json ? JSON.stringify({ reports: [], interrupted: false, left: 0 }) : "every tenant is up to date");

  // Ctrl-C stops taking new tenants and lets the ones under way finish; a second one quits at once.
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write("\nstopping after the tenants under way (Ctrl-C again to quit now)\n");
  };
  process.on("SIGINT", onSignal);
  const started = Date.now();
  const reports: Report[] = [];
  const progress = new Progress(slugs.length, !json && !!process.stderr.isTTY);
  const failed = () => reports.filter((r) => r.outcome === "failed");
  try {
    progress.draw(0, 0);
    await pool(
      slugs,
      concurrency,
      () => interrupted,
      async (slug) => {
        let report: Report;
        try {
          report = (await api<Report>("POST", `/api/v1/tenants/${enc(slug)}/migrate`)).data;
        } catch (err) {
          // One tenant's refusal (gone, being set up) is its failure; the run goes on.
          if (!(err instanceof CliError) || /cannot reach/.test(err.message)) throw err;
          report = { slug, outcome: "failed", before: null, after: null, target: 0, applied: [], error: err.message };
        }
        reports.push(report);
        if (!json && (!process.stderr.isTTY || report.outcome === "failed")) progress.note(describe(report));
        progress.draw(reports.length, failed().length);
      },
    );
  } finally {
    progress.end();
    process.off("SIGINT", onSignal);
  }
  const count = (o: Report["outcome"]) => reports.filter((r) => r.outcome === o).length;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (json) console.log(JSON.stringify({ reports, interrupted, left: slugs.length - reports.length }, null, 2));
  else
    console.log(
      `${interrupted ? "interrupted: " : ""}migrated ${count("migrated")} tenants, ${count("current")} already up to date, ` +
        `${count("failed")} failed, of ${slugs.length} (${seconds} s)`,
    );
  if (interrupted) throw new CliError(`${slugs.length - reports.length} tenants left: run forge migrate again to go on`);
  if (failed().length > 0) {
    if (!json) for (const r of failed()) console.log(`  ${r.slug}: ${r.error}`);
    throw new CliError(
      `${failed().length} tenants failed to migrate (listed above, and in forge migrate status); fix them and run forge migrate again`,
    );
  }
}
