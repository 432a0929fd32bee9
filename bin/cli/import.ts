// `forge repos import`: uploads a git bundle (or a repository, bundled with git) in parts that
// survive interruptions, then asks the forge to index it and publish its refs.
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CliError } from "./client";

export interface BundleInfo {
  path: string;
  refs: { name: string; oid: string }[];
  head: string;
  packOffset: number;
  packSize: number;
  checksum: string;
}

/** Reads a v2/v3 bundle's header: its refs, and where the pack starts. */
export function readBundle(path: string, symbolicHead?: string): BundleInfo {
  const fd = openSync(path, "r");
  try {
    const size = statSync(path).size;
    const head = Buffer.alloc(Math.min(size, 16 * 1024 * 1024));
    readSync(fd, head, 0, head.length, 0);
    const end = head.indexOf("\n\n");
    if (end < 0) throw new CliError(`${path} is not a git bundle (no header end)`);
    const lines = head.subarray(0, end).toString("utf8").split("\n");
    if (lines[0] !== "# v2 git bundle" && lines[0] !== "# v3 git bundle") throw new CliError(`${path} is not a git bundle`);
    const refs: { name: string; oid: string }[] = [];
    let headOid: string | null = null;
    for (const line of lines.slice(1)) {
      if (line.startsWith("@")) {
        if (line !== "@object-format=sha1") throw new CliError(`unsupported bundle capability ${line}`);
        continue;
      }
      if (line.startsWith("-"))
        throw new CliError("the bundle needs prerequisite commits; import needs one with the whole history");
      const [oid, name] = line.split(" ");
      if (!oid || !name) continue;
      if (name === "HEAD") headOid = oid;
      else if (name.startsWith("refs/")) refs.push({ name, oid });
    }
    if (refs.length === 0) throw new CliError("the bundle has no refs");
    const checksumBuf = Buffer.alloc(20);
    readSync(fd, checksumBuf, 0, 20, size - 20);
    const branches = refs.filter((r) => r.name.startsWith("refs/heads/"));
    const headRef =
      (symbolicHead && refs.some((r) => r.name === symbolicHead) ? symbolicHead : undefined) ??
      ["refs/heads/main", "refs/heads/master"].find((n) =>
        branches.some((b) => b.name === n && (!headOid || b.oid === headOid)),
      ) ??
      branches.find((b) => b.oid === headOid)?.name ??
      branches[0]?.name ??
      refs[0]!.name;
    return {
      path,
      refs,
      head: headRef,
      packOffset: end + 2,
      packSize: size - (end + 2),
      checksum: checksumBuf.toString("hex"),
    };
  } finally {
    closeSync(fd);
  }
}

/** A bundle of the branches and tags of the repository at `dir` (bare or not), in a temporary folder. */
export function bundleRepository(dir: string): { bundle: BundleInfo; cleanup: () => void } {
  const tmp = mkdtempSync(join(tmpdir(), "forge-import-"));
  const file = join(tmp, "repo.bundle");
  try {
    // Branches and tags only: not remote-tracking refs, stashes or worktree HEADs, whose objects
    // (a stash!) do not belong in a published repository.
    execFileSync("git", ["-C", dir, "bundle", "create", file, "--branches", "--tags"], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    const stderr = String((err as { stderr?: Buffer }).stderr ?? "").trim();
    throw new CliError(`git could not bundle ${dir}: ${stderr || (err as Error).message}`);
  }
  let symbolic: string | undefined;
  try {
    symbolic = execFileSync("git", ["-C", dir, "symbolic-ref", "-q", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    symbolic = undefined;
  }
  return { bundle: readBundle(file, symbolic), cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
}

interface ImportStatus {
  id: string;
  size: number;
  part_size: number;
  parts: number;
  uploaded_parts: number[];
}

export type ApiCall = <T>(method: string, path: string, body?: unknown, raw?: Buffer) => Promise<T>;

/** Uploads the bundle's pack part by part (skipping parts already there) and completes the import. */
export async function uploadBundle(
  call: ApiCall,
  slug: string,
  project: string,
  bundle: BundleInfo,
  progress: (message: string) => void,
): Promise<{ pack: string; objects: number; refs: number; seconds: number }> {
  const base = `/api/v1/tenants/${encodeURIComponent(slug)}/projects/${encodeURIComponent(project)}/imports`;
  const status = await call<ImportStatus>("POST", base, {
    size: bundle.packSize,
    checksum: bundle.checksum,
    refs: bundle.refs,
    head: bundle.head,
  });
  const fd = openSync(bundle.path, "r");
  try {
    const done = new Set(status.uploaded_parts);
    if (done.size) progress(`resuming: ${done.size} of ${status.parts} parts already uploaded`);
    for (let part = 1; part <= status.parts; part++) {
      if (done.has(part)) continue;
      const start = (part - 1) * status.part_size;
      const length = Math.min(status.part_size, status.size - start);
      const buf = Buffer.alloc(length);
      readSync(fd, buf, 0, length, bundle.packOffset + start);
      await call("PUT", `${base}/${status.id}/parts/${part}`, undefined, buf);
      const sent = Math.min(status.size, part * status.part_size);
      progress(`uploading: ${Math.floor((sent * 100) / status.size)}% (${mb(sent)} of ${mb(status.size)})`);
    }
  } finally {
    closeSync(fd);
  }
  progress("indexing and checking the pack on the forge...");
  return call("POST", `${base}/${status.id}/complete`);
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
