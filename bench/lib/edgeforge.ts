// The Edgeforge side: the local forge (both workers on workerd, as `npm start` runs it) with a
// tenant "bench" on bench.localhost, driven through the `forge` CLI like the e2e tests do.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startForge, type RunningForge } from "../../test/e2e/runner";
import { firstLine } from "./run";
import { workerdPids } from "./rss";
import { renice, storageNice } from "./sched";

export const TENANT = "bench";
export const HOST = "bench.localhost";

export interface Edgeforge {
  forge: RunningForge;
  port: number;
  /** The tenant owner's API token (HTTP Basic password for pushes, with username `bench`). */
  token: string;
  /** workerd runs as a descendant of this PID (the local runner); sample it with match /workerd/. */
  pid: number;
  /** Runs a forge CLI command; throws with the CLI's error line when it fails. */
  cli(...args: string[]): Promise<string>;
  /** URL on the tenant's host. git and curl resolve *.localhost to loopback; Node does not. */
  url(path: string): string;
  stop(): Promise<void>;
}

/**
 * `startTimeoutMs`: benchmarks share the machine with others, so workerd gets time to start.
 * `stateDir`: a state folder to use and keep (its tenant is reused when it has one, so a big
 * import is done once); `root`: another checkout's forge on it (before/after on the same state);
 * `port`: the forge's port (default: a free one). With FORGE_STORAGE_PROCESS=1 in `env`, the
 * storage workerd runs at nice `storageNice()` (19 unless STORAGE_NICE says otherwise).
 * FORGE_OUT=<file> in the bench's environment: the forge's output is written there as it comes
 * (to follow a long run with `tail -f`), not only kept.
 */
export async function startEdgeforge(
  env: Record<string, string> = {},
  startTimeoutMs = 600_000,
  opts: { stateDir?: string; root?: string; port?: number } = {},
): Promise<Edgeforge> {
  const forge = await startForge({
    env,
    startTimeoutMs,
    stateDir: opts.stateDir,
    root: opts.root,
    port: opts.port,
    outputFile: process.env.FORGE_OUT,
  });
  // The storage workerd stands for storage on other machines: it gets a core only when the forge's
  // processes leave one (sched.ts storageNice; STORAGE_NICE=0 runs it as the forge).
  if (env.FORGE_STORAGE_PROCESS === "1") {
    const { storage } = workerdPids(forge.child.pid!);
    if (storage === undefined) throw new Error("FORGE_STORAGE_PROCESS=1 but no storage workerd below the forge");
    const nice = storageNice();
    if (nice !== 0 && renice(storage, nice) === 0) throw new Error(`could not renice workerd ${storage}`);
  }
  // If the benchmark dies half-way, stop the forge (SIGINT: it shuts workerd down itself).
  const kill = () => forge.child.kill("SIGINT");
  process.once("exit", kill);
  const cli = async (...args: string[]): Promise<string> => {
    const r = await forge.cli(...args);
    if (r.code !== 0) throw new Error(`forge ${args.slice(0, 2).join(" ")}: ${firstLine(r.stderr || r.stdout)}`);
    return r.stdout;
  };
  const stop = async () => {
    process.off("exit", kill);
    await forge.stop();
    if (!opts.stateDir) rmSync(forge.stateDir, { recursive: true, force: true });
  };
  try {
    const tokenFile = join(forge.stateDir, "bench-token");
    let token = existsSync(tokenFile) ? readFileSync(tokenFile, "utf8").trim() : "";
    if (!token) {
      const created = JSON.parse(
        await cli(
          "tenants",
          "create",
          TENANT,
          "--host",
          HOST,
          "--owner",
          "bench",
          "--owner-email",
          "bench@example.com",
          "--json",
        ),
      ) as { owner: { token: string } };
      token = created.owner.token;
      if (opts.stateDir) writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    }
    return {
      forge,
      port: forge.port,
      token,
      pid: forge.child.pid!,
      cli,
      url: (path) => forge.url(HOST, path),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Creates a project and imports a bare repository into it (the CLI command may not exist yet). */
export async function importProject(ef: Edgeforge, project: string, bareRepo: string): Promise<void> {
  await ef.cli("projects", "create", TENANT, project);
  await ef.cli("repos", "import", TENANT, project, bareRepo);
}
