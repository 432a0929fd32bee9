// FORGE_STORAGE_PROCESS=1 (benchmarks only): Miniflare's R2, KV and D1 simulators in a second
// workerd process, so that their work does not run on the forge's workerd thread. On Cloudflare
// a storage call is I/O off the isolate's thread; locally every simulator is JavaScript on the one
// thread that also runs both workers (bench/scale-results.md, s11-warm: R2's simulator 17 to 26%
// of that thread during cold pages).
//
// The forge's R2 binding is workerd's own R2 client, whose service is this process's `R2` socket
// (./storage-plugin.ts): each call arrives as the request the simulator takes, and goes to it as it
// is. KV and D1 take Miniflare's remote-binding form (`remoteProxyConnectionString`): the
// binding's own client in the forge's workerd sends each call as an HTTP request to this process.
// Here wrangler's proxy-server worker (the one that serves remote bindings) hands each request to
// a service binding of the same name. R2, KV and D1 bindings speak HTTP (`fetch`) only, but
// Miniflare's client also opens a WebSocket RPC session each time it is made, one per storage
// call, and never closes it: at 50 calls a second both workerds ran out of file descriptors (20,000
// here) 7 to 9 minutes in. This process refuses those upgrades (`STORAGE_ENTRY`), so each closes at
// once; the call goes on over HTTP as before. Those service bindings reach this process's own simulator
// services (`r2:bucket:objects`, ...) through Miniflare's dev registry, whose entries name a
// service and the workerd debug port that serves it: the entries written below point at this
// process's own debug port. The simulators keep their state where the forge's own would
// (`defaultPersistRoot`), so a state folder works in either mode.
import { Miniflare, type WorkerOptions } from "miniflare";
import { mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { COMPATIBILITY_DATE } from "./config";

/**
 * The forge's storage bindings served here, each with the simulator service that serves it in
 * Miniflare's naming (its R2, KV and D1 plugins) and the props that service reads (KV's one entry
 * service takes the namespace from them).
 */
const REMOTE_STORAGE = {
  OBJECTS: { service: "r2:bucket:objects" },
  DIRECTORY: { service: "kv:ns:entry", props: { MINIFLARE_NAMESPACE: "directory" } },
  CONTROL: { service: "d1:db:control" },
} as const;

/**
 * The storage worker's entry module: the proxy-server worker (module `proxy-server.js`), except
 * that a WebSocket upgrade asking for a binding's RPC session (what wrangler's proxy tells apart by
 * the `MF-Binding` search parameter) gets a 400 instead of a session; and its `R2` entrypoint, a
 * socket of its own, which hands workerd's R2 client's requests to the simulator unchanged.
 */
const STORAGE_ENTRY = `import { WorkerEntrypoint } from "cloudflare:workers";
import proxy from "./proxy-server.js";
export class R2 extends WorkerEntrypoint {
  fetch(request) {
    return this.env.OBJECTS.fetch(request);
  }
}
export default {
  fetch(request, env, ctx) {
    if (request.headers.has("Upgrade") && new URL(request.url).searchParams.has("MF-Binding"))
      return new Response("R2, KV and D1 are served over HTTP here, not RPC sessions", { status: 400 });
    return proxy.fetch(request, env, ctx);
  },
};
`;

/** Dev-registry entries expire after 5 minutes without a touch (Miniflare touches its own every 30 s). */
const REGISTRY_TOUCH_MS = 30_000;
/** How long the registry's watcher may take to route the bindings (a loaded machine is slow). */
const REGISTRY_WAIT_MS = 60_000;

export interface StorageProcess {
  /** What the forge's KV and D1 bindings take as `remoteProxyConnectionString`. */
  url: URL;
  /** The `R2` entrypoint's socket: the service of the forge's R2 binding (./storage-plugin.ts). */
  r2Url: URL;
  dispose(): Promise<void>;
}

export async function startStorageProcess(opts: {
  persistRoot: string;
  registryDir: string;
  handleRuntimeStdio?: (stdout: Readable, stderr: Readable) => void;
}): Promise<StorageProcess> {
  rmSync(opts.registryDir, { recursive: true, force: true });
  mkdirSync(opts.registryDir, { recursive: true });
  const require = createRequire(import.meta.url);
  const proxyServer = readFileSync(
    join(require.resolve("wrangler/package.json"), "..", "wrangler-dist", "ProxyServerWorker.js"),
    "utf8",
  );
  const bindings = Object.keys(REMOTE_STORAGE) as (keyof typeof REMOTE_STORAGE)[];
  const registryName = (b: string) => `edgeforge-storage-${b.toLowerCase()}`;
  const worker: WorkerOptions = {
    name: "storage",
    modules: [
      { type: "ESModule", path: "storage.js", contents: STORAGE_ENTRY },
      { type: "ESModule", path: "proxy-server.js", contents: proxyServer },
    ],
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: ["nodejs_compat"],
    unsafeDirectSockets: [
      { host: "127.0.0.1", port: 0 },
      { host: "127.0.0.1", port: 0, entrypoint: "R2" },
    ],
    // The simulators themselves (under other names: the proxy's env names must be the fetchers).
    r2Buckets: { LOCAL_OBJECTS: "objects" },
    kvNamespaces: { LOCAL_DIRECTORY: "directory" },
    d1Databases: { LOCAL_CONTROL: "control" },
    serviceBindings: Object.fromEntries(
      bindings.map((b) => [b, { name: registryName(b), props: (REMOTE_STORAGE[b] as { props?: object }).props }]),
    ),
  };
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    defaultPersistRoot: opts.persistRoot,
    unsafeDevRegistryPath: opts.registryDir,
    handleRuntimeStdio: opts.handleRuntimeStdio,
    workers: [worker],
  });
  await mf.ready;
  const own = JSON.parse(readFileSync(join(opts.registryDir, "storage"), "utf8")) as { debugPortAddress: string };
  const entries = bindings.map((b) => join(opts.registryDir, registryName(b)));
  bindings.forEach((b, i) => {
    const { service } = REMOTE_STORAGE[b];
    writeFileSync(
      entries[i]!,
      JSON.stringify({
        debugPortAddress: own.debugPortAddress,
        defaultEntrypointService: service,
        userWorkerService: service,
      }),
    );
  });
  const touch = setInterval(() => {
    const now = new Date();
    for (const e of entries) utimesSync(e, now, now);
  }, REGISTRY_TOUCH_MS);
  touch.unref();
  const url = await mf.unsafeGetDirectURL("storage");
  const r2Url = await mf.unsafeGetDirectURL("storage", "R2");
  // Miniflare's registry watcher takes the entries in shortly after they are written; until then
  // the proxy answers 503 "Worker ... not found" for that binding (the R2 socket reaches the
  // simulator through the same OBJECTS binding).
  const deadline = Date.now() + REGISTRY_WAIT_MS;
  for (const b of bindings) {
    while ((await fetch(url, { headers: { "MF-Binding": b, "MF-URL": "http://storage/" } })).status === 503) {
      if (Date.now() > deadline) throw new Error(`the storage process does not serve ${b} after ${REGISTRY_WAIT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    url,
    r2Url,
    dispose: async () => {
      clearInterval(touch);
      await mf.dispose();
    },
  };
}
