// `npm run bench:gen-large -- [--size-mb 320] [--commits N] [--branches 5] [--depth 2] [--long-file] [--out <dir>] [--force]`
//
// Toward git/git's shape (about 70,000 commits, 850,000 objects, 1,000 refs, deep directories):
// `--size-mb 500 --commits 70000 --branches 700 --depth 6`. --branches: merged feature branches
// kept as refs (beside the release branches and tags); --depth: most folder levels under a package.
// --long-file: also a file of about 2,000 lines edited by about 560 commits spread over the history
// (bench/lib/long-file.ts; off by default, so that repositories made without it keep their ids).
//
// Writes a deterministic bare repository whose single pack is at least --size-mb (default 320 MB),
// for `npm run bench:git -- --repo <dir>` and `npm run bench:web -- --repo <dir>`.
//
// It is meant to look like a real, long-lived project rather than one big blob:
// - a source tree of a few thousand text files in nested folders (src/, test/, docs/), growing
//   over time, with code-like lines;
// - tens of thousands of commits, each editing a few lines of a few files (mostly "hot" files),
//   so the pack is mostly deltas, as real histories are;
// - feature branches merged with --no-ff, release branches, annotated tags;
// - binary assets (images, fonts, archives) of 256 KB to 8 MB that do not compress or delta
//   (keystream bytes), some replaced by new versions over time: they carry most of the size, as
//   they do in the large repositories people complain about.
// Everything comes from fixed seeds and fixed dates, so object ids are the same on every run.
// Speed: Node writes a `git fast-import` stream (no working tree, no per-commit processes), then
// `git repack -adf` recomputes deltas across the whole history into one pack.
import { parseArgs } from "node:util";
import { spawn } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { once } from "node:events";
import { dirname, join, resolve } from "node:path";
import { root } from "../test/e2e/runner";
import { LONG_FILE, LongFile } from "./lib/long-file";
import { repoInfo } from "./lib/repo";
import { git, gitEnv } from "./lib/run";
import { format } from "./lib/report";
import { rng } from "./lib/rng";

const { values: opts } = parseArgs({
  options: {
    "size-mb": { type: "string", default: "320" },
    out: { type: "string" },
    commits: { type: "string" },
    branches: { type: "string", default: "5" },
    depth: { type: "string", default: "2" },
    force: { type: "boolean" },
    "long-file": { type: "boolean" },
  },
});
const sizeMb = Number(opts["size-mb"]);
if (!(sizeMb > 0)) throw new Error("--size-mb must be a positive number");
const out = resolve(opts.out ?? join(root, ".forge", "bench", `large-${sizeMb}mb.git`));
// About 100 commits per MB: 32,000 commits for 320 MB (express has ~6,000 over 15 years).
const totalCommits = Number(opts.commits ?? Math.round(sizeMb * 100));
const MB = 1024 * 1024;
const keptBranches = Number(opts.branches);
const maxDepth = Number(opts.depth);
if (!(keptBranches >= 0) || !(maxDepth >= 0)) throw new Error("--branches and --depth must be numbers >= 0");
// Text history packs to about 1.2 KB per commit once deltified (measured at 320 MB, with the initial
// import); counting 1,000 leaves a margin above --size-mb. Binaries fill the rest.
const TEXT_BYTES_PER_COMMIT = 1000;
const binaryBudget = Math.max(0, sizeMb * MB - totalCommits * TEXT_BYTES_PER_COMMIT);

if (existsSync(out)) {
  if (!opts.force) throw new Error(`${out} exists (use --force to replace it)`);
  rmSync(out, { recursive: true, force: true });
}
mkdirSync(dirname(out), { recursive: true });

// ---- Deterministic randomness.

const R = rng(20240601);

/** Incompressible, delta-proof bytes: an AES-CTR keystream, keyed by a counter (deterministic). */
function binaryBytes(n: number, id: number): Buffer {
  const key = createHash("sha256").update(`bench-binary-${id}`).digest();
  const cipher = createCipheriv("aes-128-ctr", key.subarray(0, 16), key.subarray(16, 32));
  return cipher.update(Buffer.alloc(n));
}

// ---- Code-like text.

const WORDS = (
  "account address agent alpha archive async batch bind block branch buffer build cache call cell chunk " +
  "client clock commit config context count cursor data delta diff digest edge entry error event fetch " +
  "field file filter flag frame graph guard handle hash header index input item job key label layer limit " +
  "line list load lock log loop map mark merge meta mode node object offset option order owner pack page " +
  "parse patch path peer pipe plan pool port queue range reader record ref region render repo request " +
  "result route rule scope search session shard signal size slot source span state stream table tag task " +
  "tenant token trace tree update user value view window worker writer"
).split(" ");
const cap = (w: string) => w[0]!.toUpperCase() + w.slice(1);
const ident = () => R.pick(WORDS) + cap(R.pick(WORDS));

function codeLine(): string {
  const indent = "  ".repeat(R.int(0, 3));
  switch (R.int(0, 7)) {
    case 0:
      return `${indent}const ${ident()} = ${R.pick(WORDS)}.${ident()}(${R.pick(WORDS)}, ${R.int(0, 4096)});`;
    case 1:
      return `${indent}if (${ident()} > ${R.int(1, 100)} && !${R.pick(WORDS)}.${R.pick(WORDS)}) {`;
    case 2:
      return `${indent}}`;
    case 3:
      return `${indent}// ${cap(R.pick(WORDS))} the ${R.pick(WORDS)} before the ${R.pick(WORDS)} is ${R.pick(WORDS)}ed.`;
    case 4:
      return `${indent}return ${ident()}(${R.pick(WORDS)}.${R.pick(WORDS)});`;
    case 5:
      return `${indent}export function ${ident()}(${R.pick(WORDS)}: ${cap(R.pick(WORDS))}): ${cap(R.pick(WORDS))} {`;
    case 6:
      return `${indent}${R.pick(WORDS)}.${ident()} = "${R.pick(WORDS)}-${R.int(0, 999)}";`;
    default:
      return "";
  }
}
const proseLine = () => `${Array.from({ length: R.int(6, 14) }, () => R.pick(WORDS)).join(" ")}.`;

function newTextFile(path: string): string[] {
  const prose = path.endsWith(".md");
  return Array.from({ length: R.int(20, 250) }, prose ? proseLine : codeLine);
}

/** Replaces, inserts or deletes a few lines; files that grew long shrink again (sizes stay stable). */
function editText(lines: string[], prose: boolean): void {
  const make = prose ? proseLine : codeLine;
  for (let i = R.int(1, 3); i > 0; i--) {
    const at = R.int(0, Math.max(0, lines.length - 1));
    const op = R.int(0, 9);
    if (op < 5 && lines.length) lines[at] = make();
    else if (op < 8 && lines.length < 300) lines.splice(at, 0, ...Array.from({ length: R.int(1, 4) }, make));
    else if (lines.length > 10) lines.splice(at, R.int(1, 4));
  }
}

// ---- The tree.

const PACKAGES = Array.from({ length: 36 }, (_, i) => `${R.pick(WORDS)}-${R.pick(WORDS)}${i}`);
function newTextPath(): string {
  const pkg = R.pick(PACKAGES);
  const sub = Array.from({ length: R.int(0, maxDepth) }, () => R.pick(WORDS)).join("/");
  const kind = R.int(0, 9);
  const name = `${R.pick(WORDS)}-${R.pick(WORDS)}`;
  if (kind < 6) return `src/${pkg}/${sub ? `${sub}/` : ""}${name}.ts`;
  if (kind < 9) return `test/${pkg}/${name}.test.ts`;
  return `docs/${pkg}/${name}.md`;
}
const BIN_KINDS = [
  ["assets/images", "png"],
  ["assets/images", "jpg"],
  ["assets/fonts", "woff2"],
  ["vendor/archives", "tar.gz"],
  ["docs/manuals", "pdf"],
  ["testdata/fixtures", "bin"],
] as const;

interface Entry {
  mark: number;
  lines?: string[];
}
const files = new Map<string, Entry>();
const textPaths: string[] = [];
const hot: string[] = [];
const binaries: string[] = [];

// ---- The fast-import stream.

await git(["init", "--quiet", "--bare", out]);
// fast-import's pack is only an intermediate: no deltas (--depth=0; it would only try the previous
// blob of the stream, mostly another file) and fast zlib (level 1, zlib was most of its time).
// repack -f then computes real deltas and compresses them at the default level; the few objects it
// stores whole (newest versions, commits) keep level 1, which changes the size by little.
const fi = spawn("git", ["-c", "pack.compression=1", "fast-import", "--quiet", "--done", "--depth=0"], {
  cwd: out,
  env: gitEnv,
  stdio: ["pipe", "inherit", "inherit"],
});
const stdin = fi.stdin!;
async function write(chunk: string | Buffer): Promise<void> {
  if (!stdin.write(chunk)) await once(stdin, "drain");
}

let nextMark = 1;
async function blob(content: string | Buffer): Promise<number> {
  const mark = nextMark++;
  const buf = typeof content === "string" ? Buffer.from(content) : content;
  await write(`blob\nmark :${mark}\ndata ${buf.length}\n`);
  await write(buf);
  await write("\n");
  return mark;
}

const AUTHORS = Array.from({ length: 24 }, (_, i) => {
  const name = `${cap(R.pick(WORDS))} ${cap(R.pick(WORDS))}son`;
  return `${name} <dev${i}@example.com>`;
});
let clock = Date.UTC(2012, 0, 2, 9) / 1000;

/** Writes a commit of `changes` (path -> mark, or null to delete) and returns its mark. */
async function commit(ref: string, message: string, parents: number[], changes: Map<string, number | null>): Promise<number> {
  const mark = nextMark++;
  clock += R.int(600, 12 * 3600);
  const who = `${R.pick(AUTHORS)} ${clock} +0000`;
  let text = `commit ${ref}\nmark :${mark}\nauthor ${who}\ncommitter ${who}\ndata ${Buffer.byteLength(message)}\n${message}\n`;
  if (parents[0]) text += `from :${parents[0]}\n`;
  for (const p of parents.slice(1)) text += `merge :${p}\n`;
  for (const [path, m] of changes) text += m === null ? `D ${path}\n` : `M 100644 :${m} ${path}\n`;
  await write(`${text}\n`);
  return mark;
}

const longFile = opts["long-file"] ? new LongFile(totalCommits) : null;
/** With --long-file: edits the long file in this commit when its schedule says so. */
async function maybeEditLongFile(changes: Map<string, number | null>): Promise<void> {
  if (!longFile?.due()) return;
  longFile.edit();
  changes.set(LONG_FILE, await blob(longFile.text()));
}

async function editSomeFiles(changes: Map<string, number | null>): Promise<string> {
  const n = R.int(1, 4);
  const touched: string[] = [];
  for (let i = 0; i < n; i++) {
    // Four edits in five go to the "hot" fifth of the files, as in real projects.
    const path = R.next() < 0.8 && hot.length ? R.pick(hot) : R.pick(textPaths);
    const entry = files.get(path)!;
    const lines = entry.lines!; // textPaths and hot hold text files only
    editText(lines, path.endsWith(".md"));
    entry.mark = await blob(`${lines.join("\n")}\n`);
    changes.set(path, entry.mark);
    touched.push(path);
  }
  if (R.next() < 0.03) {
    const path = newTextPath();
    if (!files.has(path)) {
      const lines = newTextFile(path);
      files.set(path, { mark: await blob(`${lines.join("\n")}\n`), lines });
      textPaths.push(path);
      changes.set(path, files.get(path)!.mark);
      touched.push(path);
    }
  }
  return touched[0] ?? "tree";
}

console.log(`generating ${totalCommits} commits and ${format(binaryBudget, "bytes")} of binaries into ${out}...`);
const started = performance.now();

// Initial import.
const initial = new Map<string, number | null>();
for (let i = 0; i < 1800; i++) {
  const path = newTextPath();
  if (files.has(path)) continue;
  const lines = newTextFile(path);
  const mark = await blob(`${lines.join("\n")}\n`);
  files.set(path, { mark, lines });
  textPaths.push(path);
  initial.set(path, mark);
}
for (const p of files.keys()) if (R.next() < 0.2) hot.push(p);
initial.set("README.md", await blob("# Large benchmark repository\n\nGenerated by bench/gen-large-repo.ts.\n"));
if (longFile) initial.set(LONG_FILE, await blob(longFile.text()));
let master = await commit("refs/heads/master", "Initial import\n", [], initial);

let binaryBytesWritten = 0;
let binaryId = 0;
let made = 1;
const features: string[] = [];
let tags = 0;
while (made < totalCommits) {
  if (made % 25 === 0) {
    // A feature branch of a few commits, merged back with --no-ff (first parent: master).
    const feature = `refs/heads/feature/${R.pick(WORDS)}-${made}`;
    let tip = master;
    const merged = new Map<string, number | null>();
    for (let i = R.int(2, 5); i > 0 && made < totalCommits; i--, made++) {
      const changes = new Map<string, number | null>();
      const what = await editSomeFiles(changes);
      await maybeEditLongFile(changes);
      for (const [p, m] of changes) merged.set(p, m);
      tip = await commit(feature, `Rework ${what.split("/").pop()}\n`, [tip], changes);
    }
    master = await commit("refs/heads/master", `Merge branch '${feature.slice(11)}'\n`, [master, tip], merged);
    made++;
    features.push(feature);
    continue;
  }
  const changes = new Map<string, number | null>();
  let message: string;
  // Binaries are due whenever the bytes written fall behind an even spread over the history.
  if (binaryBytesWritten < (binaryBudget * made) / totalCommits) {
    // A binary asset: a new one, or a new version of an existing one.
    const replace = binaries.length > 0 && R.next() < 0.3;
    const [folder, ext] = R.pick(BIN_KINDS);
    const path = replace ? R.pick(binaries) : `${folder}/${R.pick(WORDS)}-${binaryId}.${ext}`;
    // Log-uniform between 256 KB and 8 MB: mostly small assets, a few big ones.
    const size = Math.min(binaryBudget - binaryBytesWritten + 4096, Math.round(256 * 1024 * 32 ** R.next()));
    const mark = await blob(binaryBytes(size, binaryId++));
    binaryBytesWritten += size;
    if (!replace) binaries.push(path);
    files.set(path, { mark });
    changes.set(path, mark);
    message = `${replace ? "Update" : "Add"} ${path.split("/").pop()}\n`;
  } else {
    const what = await editSomeFiles(changes);
    message = `${cap(R.pick(WORDS))} ${R.pick(WORDS)} handling in ${what.split("/").pop()}\n\nThe ${R.pick(WORDS)} ${R.pick(WORDS)} now ${R.pick(WORDS)}s the ${R.pick(WORDS)}.\n`;
  }
  await maybeEditLongFile(changes);
  master = await commit("refs/heads/master", message, [master], changes);
  made++;
  if (made % 300 === 0) {
    // Release tags, and a maintenance branch for every fourth release.
    tags++;
    const version = `v${1 + Math.floor(tags / 10)}.${tags % 10}.0`;
    const who = `${AUTHORS[0]} ${clock} +0000`;
    const msg = `Release ${version}\n`;
    await write(`tag ${version}\nfrom :${master}\ntagger ${who}\ndata ${msg.length}\n${msg}\n`);
    if (tags % 4 === 0) await write(`reset refs/heads/release-${version.slice(1, -2)}\nfrom :${master}\n\n`);
  }
  if (made % 5000 === 0) console.log(`  ${made} commits, ${format(binaryBytesWritten, "bytes")} of binaries`);
}
// Top up: whatever binary budget the schedule did not use goes into one last asset commit.
if (binaryBytesWritten < binaryBudget) {
  const path = `assets/bundles/final-${binaryId}.bin`;
  const size = binaryBudget - binaryBytesWritten;
  const mark = await blob(binaryBytes(size, binaryId++));
  binaryBytesWritten += size;
  master = await commit("refs/heads/master", "Add prebuilt bundle\n", [master], new Map([[path, mark]]));
}
await write("done\n");
stdin.end();
const [code] = (await once(fi, "exit")) as [number | null];
if (code !== 0) throw new Error(`git fast-import exited with ${code}`);
console.log(`fast-import done in ${((performance.now() - started) / 1000).toFixed(0)} s; repacking (git repack -adf)...`);

// Merged feature branches are deleted, as on a forge; the last few (--branches) stay as open work.
await git(["-C", out, "update-ref", "--stdin"], {
  input: features
    .slice(0, Math.max(0, features.length - keptBranches))
    .map((f) => `delete ${f}\n`)
    .join(""),
});

const repackStart = performance.now();
await git(["-C", out, "repack", "-adf", "--quiet"]);
await git(["-C", out, "symbolic-ref", "HEAD", "refs/heads/master"]);
const info = await repoInfo(out);
console.log(`repack done in ${((performance.now() - repackStart) / 1000).toFixed(0)} s`);
console.log(
  `${out}: ${info.objects} objects, one pack of ${format(info.packBytes, "bytes")} (${info.packBytes} bytes), ${info.refs} refs`,
);
if (longFile) console.log(`${LONG_FILE}: ${longFile.lines.length} lines, ${longFile.revisions + 1} revisions`);
if (info.packBytes < sizeMb * MB) console.log(`warning: the pack is smaller than ${sizeMb} MiB; raise --size-mb`);
