// Per-request metering: counts and times every call a request makes to KV, D1, R2, Durable Objects
// and services, and how many of them follow one another, for the log line and Server-Timing.
import type { Env } from "../env";
import type { BindingKind } from "./log-line";
import { isolateTurns, STORAGE_READ_UNITS } from "../utils/pace";

export type { BindingKind };

export interface RequestMeter {
  readonly id: string;
  component: string;
  /** The tenant the request was served for (set once its host resolved); null on the platform host. */
  tenant: string | null;
  readonly startedAt: number;
  readonly calls: Record<BindingKind, number>;
  readonly waitMs: Record<BindingKind, number>;
  /** Extra named timings a handler wants to report (e.g. "pack" -> ms). */
  readonly marks: Record<string, number>;
  /**
   * Sequential regional round trips on the request's critical path: the longest chain of calls
   * in which each one started after the one before it had finished. Calls that overlap in time
   * (started together, e.g. by Promise.all, or one while another was still out) share a round
   * trip. Every metered call is regional (KV, D1, R2, Durable Objects live in one region; a
   * service call reaches the push worker, whose work is storage calls); Cache API calls are
   * counted apart (`cache`), not as round trips.
   */
  roundTrips: number;
  /** The longest chain among the calls finished so far: a call started now is one more. */
  finishedDepth: number;
  /** R2 calls by what they did (the `r2` count split), and the bytes the reads answered with. */
  readonly r2: R2Calls;
  /** Cache API calls (obs/edge-cache.ts): not regional, not in `calls`, but each is a hop too. */
  readonly cache: CacheCalls;
  /**
   * Turns the isolate gave its other requests while this one ran, until its response
   * (utils/pace.ts `isolateTurns`, counted for the isolate: exact for a request that ran alone).
   * Locally the warm page waits for the cold pages' work between two turns (issue 19).
   */
  turns: number;
}

export interface R2Calls {
  /** GETs of a range of an object, and of whole objects. */
  ranged: number;
  whole: number;
  head: number;
  list: number;
  /** put, delete, multipart. */
  write: number;
  /** Bytes the GETs answered with (a ranged GET its range, a whole one the object's size). */
  bytes: number;
  /** GETs by what they read: pack indexes, packs, commit-graph layers and chain, anything else. */
  idx: number;
  pack: number;
  graph: number;
  other: number;
}

export interface CacheCalls {
  match: number;
  /** Matches that found an entry. */
  hit: number;
  put: number;
  delete: number;
}

export function newMeter(id: string, component = "unknown"): RequestMeter {
  return {
    id,
    component,
    tenant: null,
    startedAt: Date.now(),
    calls: { kv: 0, d1: 0, r2: 0, do: 0, svc: 0 },
    waitMs: { kv: 0, d1: 0, r2: 0, do: 0, svc: 0 },
    marks: {},
    roundTrips: 0,
    finishedDepth: 0,
    r2: { ranged: 0, whole: 0, head: 0, list: 0, write: 0, bytes: 0, idx: 0, pack: 0, graph: 0, other: 0 },
    cache: { match: 0, hit: 0, put: 0, delete: 0 },
    turns: 0,
  };
}

const kindOfBinding = (value: unknown): BindingKind | null => {
  if (!value || typeof value !== "object") return null;
  const v = value as Record<string, unknown>;
  // Duck typing: these shapes are stable across workerd versions and Miniflare.
  if (typeof v.prepare === "function" && typeof v.batch === "function") return "d1";
  if (typeof v.createMultipartUpload === "function") return "r2";
  if (typeof v.getWithMetadata === "function") return "kv";
  if (typeof v.idFromName === "function") return "do";
  if (typeof v.fetch === "function") return "svc";
  return null;
};

function meterCall<T>(meter: RequestMeter, kind: BindingKind, call: () => T): T {
  meter.calls[kind]++;
  const started = performance.now();
  const result = call();
  // RPC calls return thenables that are not Promises: time anything awaitable.
  if (result && typeof (result as { then?: unknown }).then === "function") {
    const finish = startRoundTrip(meter);
    return Promise.resolve(result).finally(() => {
      meter.waitMs[kind] += performance.now() - started;
      finish();
    }) as T;
  }
  return result;
}

/**
 * Places a call that starts now in the request's chain of round trips: one after the longest chain
 * finished so far. Returns what to run when it finishes. Depends only on the order in which calls
 * start and finish, never on how long they take: a test can count round trips exactly.
 */
export function startRoundTrip(meter: RequestMeter): () => void {
  const depth = meter.finishedDepth + 1;
  meter.roundTrips = Math.max(meter.roundTrips, depth);
  return () => {
    meter.finishedDepth = Math.max(meter.finishedDepth, depth);
  };
}

/**
 * Wraps one binding so that its method calls are counted. D1 statements count when executed;
 * Durable Object calls count on the stub (each RPC or fetch), not when the stub is made.
 */
function wrapBinding(binding: object, kind: BindingKind, meter: RequestMeter): object {
  return new Proxy(binding, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (kind === "d1" && prop === "prepare") {
        return (...args: unknown[]) => wrapStatement(Reflect.apply(value, target, args), meter);
      }
      if (kind === "do") {
        if (prop !== "get" && prop !== "getByName") return value.bind(target);
        return (...args: unknown[]) => wrapStub(Reflect.apply(value, target, args), meter);
      }
      if (kind === "r2") return (...args: unknown[]) => meterR2(meter, prop, args, () => Reflect.apply(value, target, args));
      return (...args: unknown[]) => meterCall(meter, kind, () => Reflect.apply(value, target, args));
    },
  });
}

/** An R2 call, counted by what it does; a GET's bytes are counted when it answers. */
function meterR2(meter: RequestMeter, method: string | symbol, args: unknown[], call: () => unknown): unknown {
  const r2 = meter.r2;
  if (method === "get") {
    const ranged = !!(args[1] as R2GetOptions | undefined)?.range;
    if (ranged) r2.ranged++;
    else r2.whole++;
    const key = String(args[0]);
    // A pack's id table file (.ids) is index data too.
    if (key.endsWith(".idx") || key.endsWith(".ids")) r2.idx++;
    else if (key.endsWith(".pack")) r2.pack++;
    else if (key.includes("/derived/commit-graph/")) r2.graph++;
    else r2.other++;
    return (meterCall(meter, "r2", call) as Promise<R2ObjectBody | R2Object | null>).then((obj) => {
      if (obj && "body" in obj) {
        const range = obj.range as { offset?: number; length?: number; suffix?: number } | undefined;
        r2.bytes += range?.length ?? range?.suffix ?? (range ? obj.size - (range.offset ?? 0) : obj.size);
      }
      // A whole GET (a small pack index, a stored answer, a checkpoint) is a call into storage like
      // a ranged read (whose units storage/r2-source.ts spends): it counts in the isolate's budget.
      const turn = ranged ? undefined : isolateTurns.spend(STORAGE_READ_UNITS);
      return turn ? turn.then(() => obj) : obj;
    });
  }
  if (method === "head") r2.head++;
  else if (method === "list") r2.list++;
  else r2.write++;
  return meterCall(meter, "r2", call);
}

function wrapStub(stub: object, meter: RequestMeter): object {
  return new Proxy(stub, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function" || prop === "then") return value;
      return (...args: unknown[]) => meterCall(meter, "do", () => Reflect.apply(value, target, args));
    },
  });
}

function wrapStatement(statement: D1PreparedStatement, meter: RequestMeter): D1PreparedStatement {
  return new Proxy(statement, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (prop === "bind") return (...args: unknown[]) => wrapStatement(Reflect.apply(value, target, args), meter);
      if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") {
        return (...args: unknown[]) => meterCall(meter, "d1", () => Reflect.apply(value, target, args));
      }
      return value.bind(target);
    },
  });
}

/** Returns a view of `env` whose bindings report to `meter`. Plain values pass through. */
export function meteredEnv(env: Env, meter: RequestMeter): Env {
  const cache = new Map<string | symbol, unknown>();
  return new Proxy(env, {
    get(target, prop, receiver) {
      if (cache.has(prop)) return cache.get(prop);
      const value = Reflect.get(target, prop, receiver);
      const kind = kindOfBinding(value);
      const wrapped = kind ? wrapBinding(value as object, kind, meter) : value;
      cache.set(prop, wrapped);
      return wrapped;
    },
  });
}

/** The request's Server-Timing header value. */
export function serverTiming(meter: RequestMeter): string {
  const parts = [`total;dur=${Date.now() - meter.startedAt}`];
  const regional = Object.values(meter.calls).reduce((a, b) => a + b, 0);
  parts.push(`rt;desc="${meter.roundTrips} sequential regional round trips, ${regional} calls"`);
  for (const kind of Object.keys(meter.calls) as BindingKind[]) {
    const n = meter.calls[kind];
    if (n > 0) parts.push(`${kind};desc="${n} calls";dur=${meter.waitMs[kind].toFixed(1)}`);
  }
  const r2 = meter.r2;
  if (r2.ranged + r2.whole > 0) {
    parts.push(`r2-get;desc="${r2.ranged} ranged, ${r2.whole} whole, ${r2.bytes} bytes"`);
    parts.push(`r2-read;desc="${r2.idx} idx, ${r2.pack} pack, ${r2.graph} graph, ${r2.other} other"`);
  }
  if (r2.head > 0) parts.push(`r2-head;desc="${r2.head} calls"`);
  if (r2.list > 0) parts.push(`r2-list;desc="${r2.list} calls"`);
  const c = meter.cache;
  if (c.match + c.put + c.delete > 0) {
    parts.push(`cache;desc="${c.match} match, ${c.hit} hit, ${c.put} put, ${c.delete} delete"`);
  }
  if (meter.turns > 0) parts.push(`turns;desc="${meter.turns} turns"`);
  for (const [name, ms] of Object.entries(meter.marks)) parts.push(`${name};dur=${ms.toFixed(1)}`);
  return parts.join(", ");
}
