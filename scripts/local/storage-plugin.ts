// FORGE_STORAGE_PROCESS=1: the forge's R2 binding is workerd's own R2 client, which sends each call
// over HTTP straight to the storage process (./storage-process.ts, its `R2` socket). Miniflare's
// remote form of the binding (what KV and D1 still use) puts a JavaScript client in the forge's
// workerd between the two (its `remote-proxy-client` worker), and that client also makes an RPC
// session on every call and tries a WebSocket the storage process refuses: 14% of the forge
// thread's busy time during cold log pages (bench/scale-results.md, session 20). On Cloudflare an
// R2 call costs the isolate's thread next to nothing; here it costs what workerd's C++ client does.
//
// Miniflare has no option for an R2 binding whose service lives elsewhere, but it loads plugins of
// one's own (`unsafeBindings`, each naming the plugin and the module that exports it) and takes
// their bindings and services as they are: this plugin's binding is a plain `r2Bucket` whose
// service is an `external` HTTP address.

/** The plugin's name, as `unsafeBindings` entries name it. */
export const STORAGE_PLUGIN = "edgeforge-storage";

/** What an `unsafeBindings` entry of this plugin carries. */
export interface StorageBindingOptions {
  /** host:port of the storage process's R2 socket. */
  address: string;
}

interface UnsafeBinding {
  name: string;
  type: string;
  options: StorageBindingOptions;
}

const serviceOf = (b: UnsafeBinding) => `${STORAGE_PLUGIN}:${b.type}:${b.name}`;

export const plugins = {
  [STORAGE_PLUGIN]: {
    getBindings: (bindings: UnsafeBinding[] | undefined) =>
      bindings?.map((b) => {
        if (b.type !== "r2") throw new Error(`${STORAGE_PLUGIN}: binding ${b.name} of unknown type ${b.type}`);
        return { name: b.name, r2Bucket: { name: serviceOf(b) } };
      }),
    getNodeBindings: () => ({}),
    getServices: ({ options }: { options: UnsafeBinding[] | undefined }) =>
      options?.map((b) => ({ name: serviceOf(b), external: { address: b.options.address, http: {} } })),
  },
};
