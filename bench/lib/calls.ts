// The calls a forge page made, as its Server-Timing header tells them (obs/meter.ts): R2 GETs
// (ranged, whole, bytes), heads, lists, Cache API calls, KV, D1, Durable Object and service calls;
// and a table of their p50 and max per page kind.
import { percentile, printTable, type Row } from "./report";

export interface PageCalls {
  r2: number;
  ranged: number;
  whole: number;
  bytes: number;
  idx: number;
  pack: number;
  graph: number;
  other: number;
  head: number;
  list: number;
  cache: number;
  cacheHit: number;
  kv: number;
  d1: number;
  do: number;
  svc: number;
  /** Turns the edge isolate gave other requests while the page ran (obs/meter.ts `turns`). */
  turns: number;
}

const num = (re: RegExp, header: string) => Number(re.exec(header)?.[1] ?? 0);

/** The counts in one Server-Timing header (zeros for what it does not mention). */
export function callsOf(header: string | string[] | undefined): PageCalls | undefined {
  if (typeof header !== "string" || !header.includes("rt;desc=")) return undefined;
  const count = (name: string) => num(new RegExp(`(?:^|, )${name};desc="(\\d+) calls"`), header);
  const get = /(?:^|, )r2-get;desc="(\d+) ranged, (\d+) whole, (\d+) bytes"/.exec(header);
  const read = /(?:^|, )r2-read;desc="(\d+) idx, (\d+) pack, (\d+) graph, (\d+) other"/.exec(header);
  const cache = /(?:^|, )cache;desc="(\d+) match, (\d+) hit, (\d+) put, (\d+) delete"/.exec(header);
  return {
    r2: count("r2"),
    ranged: Number(get?.[1] ?? 0),
    whole: Number(get?.[2] ?? 0),
    bytes: Number(get?.[3] ?? 0),
    idx: Number(read?.[1] ?? 0),
    pack: Number(read?.[2] ?? 0),
    graph: Number(read?.[3] ?? 0),
    other: Number(read?.[4] ?? 0),
    head: count("r2-head"),
    list: count("r2-list"),
    cache: cache ? Number(cache[1]) + Number(cache[3]) + Number(cache[4]) : 0,
    cacheHit: Number(cache?.[2] ?? 0),
    kv: count("kv"),
    d1: count("d1"),
    do: count("do"),
    svc: count("svc"),
    turns: num(/(?:^|, )turns;desc="(\d+) turns"/, header),
  };
}

const ROWS: [keyof PageCalls, string][] = [
  ["r2", "R2 calls, all"],
  ["ranged", "R2 ranged GETs"],
  ["whole", "R2 whole GETs"],
  ["bytes", "R2 bytes read"],
  ["idx", "R2 GETs of pack indexes"],
  ["pack", "R2 GETs of packs"],
  ["graph", "R2 GETs of the commit-graph"],
  ["other", "R2 GETs of anything else"],
  ["head", "R2 heads"],
  ["list", "R2 lists"],
  ["cache", "Cache API calls"],
  ["cacheHit", "Cache API hits"],
  ["kv", "KV calls"],
  ["d1", "D1 calls"],
  ["do", "Durable Object calls"],
  ["svc", "service calls"],
  ["turns", "turns given to other requests"],
];

/** Prints p50 and max of each count per page kind (a column per kind); rows no page made are left out. */
export function printCalls(title: string, byKind: Record<string, (PageCalls | undefined)[]>): void {
  const kinds = Object.keys(byKind);
  const rows: Row[] = [];
  for (const [key, label] of ROWS) {
    const values = kinds.map((k) => byKind[k]!.flatMap((c) => (c ? [c[key]] : [])));
    if (values.every((v) => v.every((x) => x === 0))) continue;
    const unit = key === "bytes" ? "bytes" : "count";
    rows.push({ label: `${label}: p50`, unit, values: values.map((v) => (v.length ? percentile(v, 50) : "-")) });
    rows.push({ label: `${label}: max`, unit, values: values.map((v) => (v.length ? Math.max(...v) : "-")) });
  }
  printTable(title, kinds, rows);
}
