// Injected distance (FORGE_WAN_MS): every call a worker makes to KV, D1, R2, a Durable Object or a
// queue answers that many milliseconds late, as it would for a visitor far from the region where
// that storage lives. Local runs, end-to-end tests and benchmarks only; unset, env passes untouched.

/** The setting, in milliseconds; 0 (off) unless a positive number. */
export function wanDelayMs(env: { FORGE_WAN_MS?: unknown }): number {
  const ms = Number(env.FORGE_WAN_MS ?? 0);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

type Kind = "d1" | "r2" | "kv" | "do" | "queue";

const kindOf = (value: unknown): Kind | null => {
  if (!value || typeof value !== "object") return null;
  const v = value as Record<string, unknown>;
  // The same duck typing as obs/meter.ts; service bindings (Fetcher) run beside the caller: not delayed.
  if (typeof v.prepare === "function" && typeof v.batch === "function") return "d1";
  if (typeof v.createMultipartUpload === "function") return "r2";
  if (typeof v.getWithMetadata === "function") return "kv";
  if (typeof v.idFromName === "function") return "do";
  if (typeof v.send === "function" && typeof v.sendBatch === "function") return "queue";
  return null;
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The call's answer (or failure) `ms` later. The call itself is made at once: only its answer
 * travels the distance, which is what a caller waits for.
 */
function delayed<T>(ms: number, call: () => T, wrap?: (value: unknown) => unknown): T {
  const result = call();
  if (!result || typeof (result as { then?: unknown }).then !== "function") return (wrap ? wrap(result) : result) as T;
  return Promise.resolve(result).then(
    async (value) => {
      await sleep(ms);
      return wrap ? wrap(value) : value;
    },
    async (err) => {
      await sleep(ms);
      throw err;
    },
  ) as T;
}

/** Every method of `target` answers late; `wrap` gives objects it returns the same treatment. */
function delayMethods(target: object, ms: number, wrap?: (value: unknown) => unknown, skip: string[] = []): object {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver);
      if (typeof value !== "function" || prop === "then" || skip.includes(String(prop))) {
        return typeof value === "function" ? value.bind(t) : value;
      }
      return (...args: unknown[]) => delayed(ms, () => Reflect.apply(value, t, args), wrap);
    },
  });
}

function delayD1(db: object, ms: number): object {
  const statement = (s: unknown): unknown =>
    new Proxy(s as object, {
      get(t, prop, receiver) {
        const value = Reflect.get(t, prop, receiver);
        if (typeof value !== "function") return value;
        if (prop === "bind") return (...args: unknown[]) => statement(Reflect.apply(value, t, args));
        if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") {
          return (...args: unknown[]) => delayed(ms, () => Reflect.apply(value, t, args));
        }
        return value.bind(t);
      },
    });
  return new Proxy(db, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver);
      if (typeof value !== "function") return value;
      if (prop === "prepare") return (...args: unknown[]) => statement(Reflect.apply(value, t, args));
      if (prop === "withSession") return (...args: unknown[]) => delayD1(Reflect.apply(value, t, args) as object, ms);
      if (prop === "batch" || prop === "exec" || prop === "dump") {
        return (...args: unknown[]) => delayed(ms, () => Reflect.apply(value, t, args));
      }
      return value.bind(t);
    },
  });
}

function delayBinding(binding: object, kind: Kind, ms: number): object {
  switch (kind) {
    case "d1":
      return delayD1(binding, ms);
    case "do":
      // Making an id or a stub is local; each call on a stub (RPC or fetch) goes to the object.
      return new Proxy(binding, {
        get(t, prop, receiver) {
          const value = Reflect.get(t, prop, receiver);
          if (typeof value !== "function") return value;
          if (prop !== "get" && prop !== "getByName") return value.bind(t);
          return (...args: unknown[]) => delayMethods(Reflect.apply(value, t, args) as object, ms);
        },
      });
    case "r2": {
      // A multipart upload's parts and completion are calls too.
      const upload = (value: unknown) =>
        value && typeof value === "object" && typeof (value as { uploadPart?: unknown }).uploadPart === "function"
          ? delayMethods(value as object, ms)
          : value;
      return delayMethods(binding, ms, upload);
    }
    default:
      return delayMethods(binding, ms);
  }
}

const wrapped = new WeakMap<object, object>();

/**
 * `env` with its storage bindings delayed by FORGE_WAN_MS, or `env` itself when unset. Built once
 * per env object (workerd hands every request the same one).
 */
export function withWan<E extends object>(env: E): E {
  const ms = wanDelayMs(env as { FORGE_WAN_MS?: unknown });
  if (!ms) return env;
  const known = wrapped.get(env);
  if (known) return known as E;
  const cache = new Map<string | symbol, unknown>();
  const view = new Proxy(env, {
    get(target, prop, receiver) {
      if (cache.has(prop)) return cache.get(prop);
      const value = Reflect.get(target, prop, receiver);
      const kind = kindOf(value);
      const result = kind ? delayBinding(value as object, kind, ms) : value;
      cache.set(prop, result);
      return result;
    },
  });
  wrapped.set(env, view);
  return view;
}
