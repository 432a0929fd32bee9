// Reproduces workerd's sweep livelock (issue 19, "The hangs") on purpose and counts it: each try
// starts one workerd (Miniflare) with three isolates and loads two of them, while a ping isolate
// is asked every second. A ping that does not come back within HANG_S is a hang: the probe prints
// every workerd thread's native stack (gdb), kills that workerd and starts the next.
//
//   FREEZE_S=40 TRIES=3 TRY_S=100 HANG_S=20 npx tsx bench/livelock-probe.ts   # the runner's flags
//   MINIFLARE_WORKERD_V8_FLAGS="--max-old-space-size=100 --no-single-threaded-gc" FREEZE_S=40 ...
//   MODE=startup TRIES=8 BUSY=2 npx tsx bench/livelock-probe.ts                 # forge start-ups
//
// The load (docs/architecture.md, "Local workerd's V8 flags"): "sweep" makes and drops many of
// the runtime's own objects per request (responses, streams, headers: cppgc's heap), so requests
// end while cppgc's concurrent sweep runs; "tierup" keeps its heap near the cap while hundreds of
// distinct hot functions are compiled on V8's worker pool. FREEZE_S stops that pool's thread, as
// a pool thread that waits for something never done would; without it, hangs come only by
// chance. BUSY=<n> adds n busy `nice` processes (other users' load counts too: say `uptime`).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { workerdBelow } from "./lib/watchdog";
import { projectRoot } from "../scripts/local/build";
import { workerdV8Flags, V8_FLAGS_VARIABLE } from "../scripts/local/config";

const tries = Number(process.env.TRIES ?? 10);
const tryS = Number(process.env.TRY_S ?? 60);
const hangS = Number(process.env.HANG_S ?? 45);
const busy = Number(process.env.BUSY ?? 0);
const concurrency = Number(process.env.CONCURRENCY ?? 4);
const functions = Number(process.env.FUNCTIONS ?? 600);
const mode = process.env.MODE ?? "synthetic";
const burstMs = Number(process.env.BURST_MS ?? 3000);
const freezeS = Number(process.env.FREEZE_S ?? 0);
const warmS = Number(process.env.WARM_S ?? 10);
const startupS = Number(process.env.STARTUP_S ?? 300);
// As the runner does (its mitigation included); "--max-old-space-size=100 --no-single-threaded-gc" measures without it.
const flags = workerdV8Flags({ [V8_FLAGS_VARIABLE]: process.env[V8_FLAGS_VARIABLE] ?? "--max-old-space-size=100" });
process.env[V8_FLAGS_VARIABLE] = flags;

/** Hundreds of distinct functions: each one tiers up on its own, so compile jobs keep coming. */
function tierupScript(n: number): string {
  const fns: string[] = [];
  for (let i = 0; i < n; i++)
    fns.push(
      `function f${i}(xs){let s=${i};for(let j=0;j<xs.length;j++){const o=xs[j];s=(s+o.a*${i + 1}+o.b.length)|0;}return {s,k:"k${i}"+s,a:[s,${i}]};}`,
    );
  return `${fns.join("\n")}
const table=[${Array.from({ length: n }, (_, i) => `f${i}`).join(",")}];
// Kept across requests: the isolate's old generation stays near its cap.
const kept=[];
export default { async fetch(req) {
  const xs=[];for(let i=0;i<200;i++)xs.push({a:i,b:"v"+i});
  let s=0;const start=Number(new URL(req.url).searchParams.get("at")??0);
  for(let r=0;r<40;r++){for(let i=0;i<table.length;i++){const o=table[(i+start)%table.length](xs);s^=o.s;}}
  for(let i=0;i<2000;i++)kept.push({i,s,t:"x".repeat(64)+i});
  if(kept.length>500000)kept.splice(0,250000);
  return new Response(String(s));
} };`;
}

/** Many short-lived objects the runtime allocates in cppgc: what post-push and import work make. */
const sweepScript = `export default { async fetch(req) {
  let n=0;
  for(let i=0;i<3000;i++){
    const h=new Headers({"x-a":String(i)});
    const body=new ReadableStream({start(c){c.enqueue(new Uint8Array(256));c.close();}});
    const r=new Response(body,{headers:h});
    n+=(await r.arrayBuffer()).byteLength;
    const t=new TransformStream();const w=t.writable.getWriter();w.write(new Uint8Array(64));w.close();
    n+=(await new Response(t.readable).arrayBuffer()).byteLength;
    if(i%100===0)await new Promise((res)=>setTimeout(res,0));
  }
  return new Response(String(n));
} };`;

const pingScript = `export default { fetch() { return new Response("pong"); } };`;

/** This probe's own workerd processes. */
const workerdPids = (): number[] => workerdBelow(process.pid);

/** Every thread's innermost frames, one line each (gdb attaches for a moment). */
function threadStacks(pid: number): string {
  try {
    const out = execFileSync("gdb", ["-p", String(pid), "-batch", "-ex", "thread apply all bt 16"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 120_000,
    });
    const lines: string[] = [];
    let frames: string[] = [];
    let head = "";
    const flush = () => {
      if (head) lines.push(`  ${head}: ${frames.join(" < ")}`);
      frames = [];
    };
    for (const l of out.split("\n")) {
      if (l.startsWith("Thread ")) {
        flush();
        head = l.replace(/\(Thread 0x[0-9a-f]+ \(LWP (\d+)\)\)/, "lwp $1").replace(/:$/, "");
      } else if (l.startsWith("#"))
        frames.push(
          l
            .replace(/^#\d+\s+(0x[0-9a-f]+ in )?/, "")
            .replace(/\(.*$/, "")
            .trim(),
        );
    }
    flush();
    return lines.join("\n");
  } catch (err) {
    return `  no stacks: ${(err as Error).message.split("\n")[0]}`;
  }
}

/**
 * FREEZE_S: stops V8's worker thread of that workerd (the "V8 DefaultWorker"; one on a 2-core
 * machine) for that long, every other thread running on, as a worker pool that never gets to a
 * job would (the forge's hangs: a pool thread waiting for a collection only workerd's own thread
 * could do). The thread alone is traced (PTRACE_SEIZE of its id, through python3's ctypes), so
 * the process does not stop. Halfway, the main thread's CPU use over 2 s says whether it spins.
 */
function freezeWorker(pid: number, seconds: number): Promise<string> {
  const lwp = readdirSync(`/proc/${pid}/task`).find((t) =>
    readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").startsWith("V8 DefaultWorke"),
  );
  if (!lwp) return Promise.resolve("no V8 DefaultWorker thread");
  const script = join(mkdtempSync(join(tmpdir(), "livelock-ptrace-")), "freeze.py");
  writeFileSync(
    script,
    `import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
tid, secs = int(sys.argv[1]), float(sys.argv[2])
def pt(req):
    if libc.ptrace(req, tid, None, None) == -1: raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
pt(0x4206)  # PTRACE_SEIZE: this thread only
pt(0x4207)  # PTRACE_INTERRUPT
os.waitpid(tid, 0x40000000)  # __WALL: until it has stopped
print("stopped", flush=True)
time.sleep(secs)
pt(17)  # PTRACE_DETACH: it runs again
print("running", flush=True)
`,
  );
  const cpu = () => {
    const f = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8")
      .slice(readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8").lastIndexOf(")") + 2)
      .split(" ");
    return Number(f[11]) + Number(f[12]);
  };
  let note = "";
  setTimeout(
    () => {
      const c0 = cpu();
      setTimeout(() => {
        note = `main thread used ${(cpu() - c0) * 10} ms of CPU in the 2 s halfway through the stop`;
        // gdb may attach beside the ptrace of the one stopped thread: what the main thread runs.
        note += `; its stack: ${mainStack(pid)}`;
      }, 2000);
    },
    (seconds * 1000) / 2,
  );
  return new Promise((resolve) => {
    const child = spawn("python3", [script, lwp, String(seconds)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.once("exit", () => resolve(`${out.trim().replace(/\n/g, ", ")}; ${note}`));
  });
}

/** The main thread's innermost frames, one line (gdb attaches for a moment). */
function mainStack(pid: number): string {
  try {
    const out = execFileSync("gdb", ["-p", String(pid), "-batch", "-ex", "thread 1", "-ex", "bt 8"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 60_000,
    });
    return out
      .split("\n")
      .filter((l) => l.startsWith("#"))
      .map((l) =>
        l
          .replace(/^#\d+\s+(0x[0-9a-f]+ in )?/, "")
          .replace(/\(.*$/, "")
          .trim(),
      )
      .filter((f, i, all) => all.indexOf(f) === i)
      .join(" < ");
  } catch (err) {
    return `none (${(err as Error).message.split("\n")[0]})`;
  }
}

async function oneTry(n: number): Promise<"ok" | "hang" | "error"> {
  const stdio = createWriteStream(join(tmpdir(), `livelock-workerd-${process.pid}-${n}.log`));
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    // workerd's own output goes to a file, read as it comes: a full pipe would block its thread.
    handleRuntimeStdio(stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) {
      stdout.pipe(stdio);
      stderr.pipe(stdio);
    },
    workers: [
      { name: "ping", modules: true, script: pingScript, compatibilityDate: "2026-07-01", routes: ["ping.test/*"] },
      { name: "sweep", modules: true, script: sweepScript, compatibilityDate: "2026-07-01", routes: ["sweep.test/*"] },
      {
        name: "tierup",
        modules: true,
        script: tierupScript(functions),
        compatibilityDate: "2026-07-01",
        routes: ["tierup.test/*"],
      },
    ],
  });
  await mf.ready;
  // Miniflare picks the worker by the URL's host (the routes above).
  const ask = (host: string, path: string, timeoutMs: number) =>
    mf
      .dispatchFetch(`http://${host}${path}`, { signal: AbortSignal.timeout(timeoutMs) })
      .then(async (r) => {
        await r.arrayBuffer();
        return true;
      })
      .catch(() => false);
  const end = performance.now() + tryS * 1000;
  let stop = false;
  let requests = 0;
  // Bursts: a few seconds of "tierup" requests only, then of "sweep" only, so that the tierup
  // isolate falls idle with compile jobs still queued on V8's worker pool while the sweep
  // isolate's requests end one after another (BURST_MS=0: both all the time).
  const began = performance.now();
  const target = (k: number) => {
    if (burstMs <= 0) return k % 2 ? "tierup.test" : "sweep.test";
    return Math.floor((performance.now() - began) / burstMs) % 2 ? "sweep.test" : "tierup.test";
  };
  const loaders = Array.from({ length: concurrency }, (_, k) =>
    (async () => {
      for (let i = 0; !stop; i++) {
        await ask(target(k), `/?at=${i * 7 + k}`, (hangS + 30) * 1000);
        requests++;
      }
    })(),
  );
  let result: "ok" | "hang" = "ok";
  let slowest = 0;
  let frozen: Promise<string> | undefined;
  let thawedAt = 0;
  while (performance.now() < end) {
    if (freezeS > 0 && !frozen && performance.now() - began > warmS * 1000) {
      frozen = freezeWorker(workerdPids()[0]!, freezeS);
      thawedAt = performance.now() + freezeS * 1000;
    }
    const t0 = performance.now();
    if (!(await ask("ping.test", "/", hangS * 1000))) {
      result = "hang";
      if (!frozen) break;
      // Frozen on purpose: does workerd come back once the worker thread runs again?
      const t0 = performance.now();
      const back = await ask("ping.test", "/", Math.round(Math.max(0, thawedAt - t0) + hangS * 1000));
      console.log(
        `try ${n}: ping unanswered for ${hangS} s while the worker thread was stopped; ${
          back
            ? `answered again ${((performance.now() - thawedAt) / 1000).toFixed(1)} s after it ran again`
            : "still silent after it ran again"
        }`,
      );
      if (!back) {
        console.log(`  worker thread: ${await frozen}`);
        frozen = undefined;
      }
      break;
    }
    slowest = Math.max(slowest, performance.now() - t0);
    const wait = 1000 - (performance.now() - t0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  stop = true;
  const pids = workerdPids();
  if (frozen) {
    const out = await frozen;
    console.log(
      `try ${n}: ${result === "hang" ? "HANG, recovered" : "ok"} with the worker thread stopped ${freezeS} s (${requests} requests, slowest ping ${slowest.toFixed(0)} ms)`,
    );
    console.log(`  worker thread: ${out}`);
  } else if (result === "hang") {
    console.log(`try ${n}: HANG (ping unanswered for ${hangS} s after ${requests} requests)`);
    for (const pid of pids) console.log(`workerd ${pid}, ${rssOf(pid)}, threads:\n${threadStacks(pid)}`);
    for (const pid of pids) process.kill(pid, "SIGKILL");
  } else console.log(`try ${n}: ok (${requests} requests, slowest ping ${slowest.toFixed(0)} ms)`);
  await Promise.race([Promise.allSettled(loaders), new Promise((r) => setTimeout(r, 5000))]);
  await mf.dispose().catch(() => undefined);
  return result;
}

/**
 * MODE=startup: one start-up of the local forge on a fresh state folder (`npm start`: build,
 * workerd, the demo forge and its import), the place session 5's hangs were. It hangs when
 * "ready" has not come within STARTUP_S and workerd's main thread is in V8's message loop.
 */
async function oneStartup(n: number): Promise<"ok" | "hang" | "error"> {
  const state = mkdtempSync(join(tmpdir(), "livelock-state-"));
  const port = Number(process.env.PORT ?? 8100);
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
    cwd: projectRoot,
    env: { ...process.env, PORT: String(port), FORGE_STATE: state, FORGE_LOG: "quiet", FORGE_ADMIN_TOKEN: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let step = "";
  const began = performance.now();
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), startupS * 1000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const m of output.matchAll(/starting: (.*)/g)) step = m[1]!;
      if (output.includes(`ready on port ${port}`)) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  const pids = workerdPids();
  let result: "ok" | "hang" | "error" = "ok";
  if (ready) console.log(`try ${n}: ok (ready in ${((performance.now() - began) / 1000).toFixed(0)} s)`);
  else {
    const stacks = pids.map((pid) => `workerd ${pid}, ${rssOf(pid)}, threads:\n${threadStacks(pid)}`).join("\n");
    result = /PumpMessageLoop|Sweep/.test(stacks.split("\n").find((l) => /^\s+Thread 1\b/.test(l)) ?? "") ? "hang" : "error";
    console.log(`try ${n}: ${result === "hang" ? "HANG" : "not ready"} after ${startupS} s at: ${step}`);
    console.log(stacks);
    if (result === "error") console.log(output.slice(-2000));
  }
  child.kill("SIGINT");
  await new Promise((r) => setTimeout(r, ready ? 10_000 : 0));
  for (const pid of workerdPids()) process.kill(pid, "SIGKILL");
  child.kill("SIGKILL");
  rmSync(state, { recursive: true, force: true });
  return result;
}

function rssOf(pid: number): string {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
    return `VmRSS ${(kb / 1024).toFixed(0)} MiB`;
  } catch {
    return "gone";
  }
}

const burners: ChildProcess[] = [];
for (let i = 0; i < busy; i++) burners.push(spawn("nice", ["-n", "5", "sh", "-c", "while :; do :; done"], { stdio: "ignore" }));
const cleanup = () => {
  for (const b of burners) b.kill("SIGKILL");
};
process.once("exit", cleanup);

console.log(
  mode === "startup"
    ? `workerd V8 flags: "${flags}"; ${tries} forge start-ups, hang = not ready within ${startupS} s with workerd in V8's message loop; busy ${busy}`
    : `workerd V8 flags: "${flags}"; ${tries} tries of ${tryS} s, hang = ping unanswered ${hangS} s; busy ${busy}`,
);
let hangs = 0;
for (let n = 1; n <= tries; n++) {
  const load = execFileSync("cat", ["/proc/loadavg"], { encoding: "utf8" }).split(" ")[0];
  console.log(`try ${n} starts, load ${load}`);
  if ((await (mode === "startup" ? oneStartup(n) : oneTry(n))) === "hang") hangs++;
}
console.log(`hangs: ${hangs} of ${tries} (flags "${flags}")`);
cleanup();
process.exit(0);
