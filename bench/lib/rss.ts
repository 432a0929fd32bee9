// Resident memory of a process tree, sampled from /proc during an operation.
//
// Summed VmRSS counts pages shared between processes (forked CGI children, shared libraries) once
// per process, so it over-states a tree of many processes a little; it is what `ps`/`top` show and
// the same measure for every server. It also counts file pages a process has mapped and touched:
// pack-objects mmaps the pack, so C git's VmRSS grows with the part of the pack it reads (page
// cache the kernel can drop, not heap). RssAnon (heap, stacks) leaves those out, so both are
// reported. A process that lives shorter than the sampling interval can be missed entirely, and a
// peak between two samples is missed (the per-process VmHWM would catch it, but it is a lifetime
// figure: for a long-running server it includes start-up, not this operation).
import { readdirSync, readFileSync } from "node:fs";

export interface RssReport {
  /** Summed VmRSS of the matching processes when sampling started. */
  startBytes: number;
  /** Highest summed VmRSS seen in a sample. */
  peakBytes: number;
  /** peakBytes - startBytes: the memory the operation cost the server. */
  growthBytes: number;
  /** The same for summed RssAnon (without mapped files). */
  anonGrowthBytes: number;
  samples: number;
  /** Distinct PIDs seen (e.g. one git-http-backend + upload-pack + pack-objects per request). */
  processes: number;
}

interface Proc {
  pid: number;
  ppid: number;
  name: string;
}

function listProcesses(): Proc[] {
  const procs: Proc[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may contain spaces and parentheses, so cut at the last ")".
      const close = stat.lastIndexOf(")");
      const name = stat.slice(stat.indexOf("(") + 1, close);
      const ppid = Number(stat.slice(close + 2).split(" ")[1]);
      procs.push({ pid: Number(entry), ppid, name });
    } catch {
      // The process exited between readdir and read.
    }
  }
  return procs;
}

/** PIDs of rootPid and all its descendants whose name matches (or all when no filter). */
export function treePids(rootPid: number, match?: RegExp): number[] {
  const procs = listProcesses();
  const children = new Map<number, Proc[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const root = procs.find((p) => p.pid === rootPid);
  const out: number[] = [];
  const stack: Proc[] = root ? [root] : [];
  while (stack.length) {
    const p = stack.pop()!;
    if (!match || match.test(p.name)) out.push(p.pid);
    stack.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

/**
 * The forge's workerd below the runner `pid` and, with FORGE_STORAGE_PROCESS=1, the storage
 * process's (scripts/local/storage-process.ts): that one runs with a debug port (Miniflare's dev
 * registry, which only the storage process turns on).
 */
export function workerdPids(pid: number): { forge: number; storage: number | undefined } {
  const all = treePids(pid, /workerd/);
  const isStorage = (p: number) => readFileSync(`/proc/${p}/cmdline`, "utf8").includes("--debug-port");
  const forge = all.find((p) => !isStorage(p));
  if (forge === undefined) throw new Error(`no forge workerd below process ${pid}`);
  return { forge, storage: all.find(isStorage) };
}

/** VmRSS and RssAnon in bytes, or null when the process is gone. */
export function rss(pid: number): { rss: number; anon: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0) * 1024;
    return { rss: kb(/^VmRSS:\s+(\d+) kB/m), anon: kb(/^RssAnon:\s+(\d+) kB/m) };
  } catch {
    return null;
  }
}

export interface RssSampler {
  stop(): RssReport;
}

/** Starts sampling every `intervalMs`; stop() returns the report. */
export function sampleRss(rootPid: number, opts: { match?: RegExp; intervalMs?: number } = {}): RssSampler {
  const seen = new Set<number>();
  let samples = 0;
  const sample = () => {
    const total = { rss: 0, anon: 0 };
    for (const pid of treePids(rootPid, opts.match)) {
      const m = rss(pid);
      if (m === null) continue;
      seen.add(pid);
      total.rss += m.rss;
      total.anon += m.anon;
    }
    samples++;
    return total;
  };
  const start = sample();
  const peak = { ...start };
  const take = () => {
    const s = sample();
    peak.rss = Math.max(peak.rss, s.rss);
    peak.anon = Math.max(peak.anon, s.anon);
  };
  const timer = setInterval(take, opts.intervalMs ?? 50);
  return {
    stop() {
      clearInterval(timer);
      take();
      return {
        startBytes: start.rss,
        peakBytes: peak.rss,
        growthBytes: peak.rss - start.rss,
        anonGrowthBytes: peak.anon - start.anon,
        samples,
        processes: seen.size,
      };
    },
  };
}
