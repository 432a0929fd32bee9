// The warm client on a thread of its own (node:worker_threads). On the bench's own thread, the
// warm page's latency took in whatever else that thread did when its answer came: reading a cold
// page's body (a compare page is megabytes, in 64 KiB chunks), the heap sampler's inspector
// messages, the cold client's bookkeeping. None of that is the forge's doing, and most of it
// happened only "during" (bench/scale-results.md, session 20). On its own event loop the warm
// client measures the forge and the machine, as a second visitor would.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { type Endpoint, LoadClient } from "./load";

interface Setup {
  warmThread: true;
  endpoint: Endpoint;
  url: string;
}

type Command = { run: "start" } | { run: "stop"; minRequests: number };
type Report = { ms: number[] } | { error: string };

/** A loop of requests for one URL, on its own thread: `start`, then `stop` for the latencies. */
export class WarmThread {
  private report: Promise<Report> | null = null;
  private constructor(private readonly worker: Worker) {}

  static start(endpoint: Endpoint, url: string): WarmThread {
    const setup: Setup = { warmThread: true, endpoint, url };
    // This module is the thread's code too (below). Node 20 loads a worker's entry before any
    // --import of its own has registered tsx, so the entry is a line of JavaScript that registers
    // tsx and then imports this module.
    const entry = `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); });`;
    return new WarmThread(new Worker(entry, { eval: true, workerData: setup }));
  }

  /** Starts requesting the URL back to back. */
  begin(): void {
    if (this.report) throw new Error("the warm thread is already running");
    this.report = new Promise<Report>((resolve, reject) => {
      const failed = (err: Error) => reject(err);
      this.worker.once("error", failed);
      this.worker.once("message", (report: Report) => {
        this.worker.off("error", failed);
        resolve(report);
      });
    });
    this.worker.postMessage({ run: "start" } satisfies Command);
  }

  /** Stops once at least `minRequests` were made in this run: each request's latency in ms. */
  async end(minRequests = 0): Promise<number[]> {
    if (!this.report) throw new Error("the warm thread is not running");
    this.worker.postMessage({ run: "stop", minRequests } satisfies Command);
    const report = await this.report;
    this.report = null;
    if ("error" in report) throw new Error(report.error);
    return report.ms;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

if (!isMainThread && (workerData as Setup | undefined)?.warmThread) {
  const { endpoint, url } = workerData as Setup;
  const client = new LoadClient(endpoint, 1);
  let stopAt: number | null = null;
  parentPort!.on("message", async (command: Command) => {
    if (command.run === "stop") {
      stopAt = command.minRequests;
      return;
    }
    stopAt = null;
    const ms: number[] = [];
    try {
      while (stopAt === null || ms.length < stopAt) {
        const r = await client.get(url);
        if (r.status !== 200) throw new Error(`the warm page ${url} answered HTTP ${r.status}`);
        ms.push(r.ms);
      }
      parentPort!.postMessage({ ms } satisfies Report);
    } catch (err) {
      parentPort!.postMessage({ error: String(err) } satisfies Report);
    }
  });
}
