// Heap snapshots of workerd's isolates through the inspector (HeapProfiler.takeHeapSnapshot), and
// a reader that says which array buffers they hold and what keeps each alive: the shortest path of
// strong references from the GC roots, as Chrome's "Retainers" view shows it.
import { writeFileSync } from "node:fs";
import { WebSocket } from "undici";
import { inspectorTargets } from "./cpu-slices";

/** Takes a snapshot of every forge worker's isolate (after a collection); returns the file per worker. */
export async function takeHeapSnapshots(inspectorPort: number, dir: string, label: string): Promise<Record<string, string>> {
  const all = await inspectorTargets(inspectorPort);
  const out: Record<string, string> = {};
  for (const t of all.filter((x) => x.id.startsWith("core:user:"))) {
    const file = `${dir}/${label}-${t.id.replace(/^core:user:/, "")}.heapsnapshot`;
    const chunks: string[] = [];
    const ws = new WebSocket(t.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      ws.onerror = () => reject(new Error(`cannot reach the inspector target ${t.id}`));
      ws.onopen = () => {
        ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.enable" }));
        ws.send(JSON.stringify({ id: 2, method: "HeapProfiler.collectGarbage" }));
        ws.send(JSON.stringify({ id: 3, method: "HeapProfiler.takeHeapSnapshot", params: { reportProgress: false } }));
      };
      ws.onmessage = (m) => {
        const msg = JSON.parse(String(m.data)) as { id?: number; method?: string; params?: { chunk: string } };
        if (msg.method === "HeapProfiler.addHeapSnapshotChunk") chunks.push(msg.params!.chunk);
        if (msg.id === 3) resolve();
      };
    });
    ws.close();
    writeFileSync(file, chunks.join(""));
    out[t.id] = file;
  }
  return out;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/**
 * The array-buffer backing stores of a snapshot over `minBytes`, grouped by what retains them (the
 * last `depth` steps of the shortest strong path from the roots), largest group first.
 */
export function retainersOfBuffers(
  snap: Snapshot,
  minBytes = 16 * 1024,
  depth = 8,
): { bytes: number; count: number; path: string }[] {
  const { meta } = snap.snapshot;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const nType = meta.node_fields.indexOf("type");
  const nName = meta.node_fields.indexOf("name");
  const nSize = meta.node_fields.indexOf("self_size");
  const nEdges = meta.node_fields.indexOf("edge_count");
  const eType = meta.edge_fields.indexOf("type");
  const eName = meta.edge_fields.indexOf("name_or_index");
  const eTo = meta.edge_fields.indexOf("to_node");
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const count = snap.nodes.length / nf;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e;
    e += snap.nodes[i * nf + nEdges]! * ef;
    firstEdge[i + 1] = e;
  }
  // Breadth-first from the root (node 0) over strong edges: each node's parent on a shortest path.
  const parent = new Int32Array(count).fill(-1);
  const parentEdge = new Int32Array(count).fill(-1);
  parent[0] = 0;
  const queue = new Uint32Array(count);
  let head = 0;
  let tail = 0;
  queue[tail++] = 0;
  while (head < tail) {
    const n = queue[head++]!;
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += ef) {
      const type = edgeTypes[snap.edges[e + eType]!];
      if (type === "weak" || type === "shortcut") continue;
      const to = snap.edges[e + eTo]! / nf;
      if (parent[to] !== -1) continue;
      parent[to] = n;
      parentEdge[to] = e;
      queue[tail++] = to;
    }
  }
  const label = (n: number) => {
    const t = nodeTypes[snap.nodes[n * nf + nType]!];
    // Numbers (map slots, scope ids) vary between siblings: without them, alike paths group.
    const name = snap.strings[snap.nodes[n * nf + nName]!]!.split("\n")[0]!.slice(0, 50).replace(/@\d+/g, "@*");
    return t === "object" || t === "native" ? name : `(${t}) ${name}`;
  };
  const edgeLabel = (e: number) => {
    const type = edgeTypes[snap.edges[e + eType]!];
    const v = snap.edges[e + eName]!;
    return type === "element" || type === "hidden" ? "[*]" : `.${snap.strings[v]!.replace(/^\d+$/, "*")}`;
  };
  const groups = new Map<string, { bytes: number; count: number }>();
  for (let n = 0; n < count; n++) {
    const size = snap.nodes[n * nf + nSize]!;
    if (size < minBytes) continue;
    const name = snap.strings[snap.nodes[n * nf + nName]!]!;
    if (!/ArrayBuffer|backing|BackingStore/i.test(name)) continue;
    const steps: string[] = [];
    let at = n;
    for (let k = 0; k < depth && at !== 0 && parent[at]! >= 0; k++) {
      steps.unshift(`${label(parent[at]!)}${edgeLabel(parentEdge[at]!)}`);
      at = parent[at]!;
    }
    if (parent[n] === -1) steps.push("(unreachable from the roots)");
    const key = `${steps.join(" → ")} → ${name}`;
    const g = groups.get(key) ?? { bytes: 0, count: 0 };
    g.bytes += size;
    g.count++;
    groups.set(key, g);
  }
  return [...groups.entries()].map(([path, g]) => ({ path, ...g })).sort((a, b) => b.bytes - a.bytes);
}

/**
 * A snapshot's objects summed by self size per constructor (objects), function name (closures) or
 * type (strings, arrays, code), largest first: what the used heap is made of.
 */
export function selfSizeByName(snap: Snapshot, top = 25): { bytes: number; count: number; name: string }[] {
  const { meta } = snap.snapshot;
  const nf = meta.node_fields.length;
  const nType = meta.node_fields.indexOf("type");
  const nName = meta.node_fields.indexOf("name");
  const nSize = meta.node_fields.indexOf("self_size");
  const nodeTypes = meta.node_types[0];
  const groups = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += nf) {
    const t = nodeTypes[snap.nodes[i + nType]!]!;
    const name = snap.strings[snap.nodes[i + nName]!]!;
    // Strings and numbers are named by their content: group them by type alone.
    const key = t === "object" || t === "closure" || t === "native" ? `(${t}) ${name.split("\n")[0]!.slice(0, 60)}` : `(${t})`;
    const g = groups.get(key) ?? { bytes: 0, count: 0 };
    g.bytes += snap.nodes[i + nSize]!;
    g.count++;
    groups.set(key, g);
  }
  return [...groups.entries()]
    .map(([name, g]) => ({ name, ...g }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, top);
}
