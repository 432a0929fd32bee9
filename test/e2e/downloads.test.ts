// Downloads against the real local forge: a 150 MiB file generated as a stream, uploaded over
// HTTP to the API while the edge isolate's used heap is sampled through workerd's inspector (it
// runs under the 128 MB cap), its SHA-256 as the forge shows it against Node's, and the file read
// back whole; then a small file uploaded through the form in Chromium.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import { createHash } from "node:crypto";
import type { Browser } from "playwright-core";
import { sampleHeap, type HeapPeak } from "../../bench/lib/heap";
import { freePort, startForge, type RunningForge, type TestTenant } from "./runner";
import { launchChromium } from "./browser";

const MiB = 1024 * 1024;
const SIZE = 150 * MiB;
const PROJECT = "big";

let forge: RunningForge;
let tenant: TestTenant;
let inspectorPort: number;
let browser: Browser | undefined;
/** The edge isolate's used heap at rest (after a collection), before the big file moves. */
let idle = 0;

/** Deterministic, incompressible bytes, one MiB at a time (xorshift32), never all in memory. */
function* generate(size: number, seed = 0x9e3779b9): Generator<Buffer> {
  let x = seed >>> 0;
  for (let sent = 0; sent < size; sent += MiB) {
    const words = new Uint32Array(Math.min(MiB, size - sent) / 4);
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      words[i] = x;
    }
    yield Buffer.from(words.buffer);
  }
}

/** One request to the forge on 127.0.0.1 with the tenant's Host; the body streamed from `chunks`. */
function send(
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; chunks?: Iterable<Buffer>; onChunk?: (c: Buffer) => void } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port: forge.port, method, path, headers: { host: tenant.host, ...opts.headers }, agent: false },
      (res) => {
        const kept: Buffer[] = [];
        let bytes = 0;
        res.on("data", (c: Buffer) => {
          bytes += c.length;
          if (opts.onChunk) opts.onChunk(c);
          else kept.push(c);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(kept), bytes }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    const it = opts.chunks?.[Symbol.iterator]();
    const pump = () => {
      for (;;) {
        const next = it?.next();
        if (!next || next.done) return void req.end();
        if (!req.write(next.value)) return void req.once("drain", pump);
      }
    };
    pump();
  });
}

const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
const edgePeak = (peaks: Record<string, HeapPeak>) =>
  Object.entries(peaks).find(([title]) => !title.includes("push"))?.[1] ?? { used: Number.NaN, withBuffers: Number.NaN };

beforeAll(async () => {
  // A forge of this file's own, for its inspector; workerd keeps the default 128 MB heap cap.
  inspectorPort = await freePort();
  forge = await startForge({ env: { FORGE_INSPECTOR_PORT: String(inspectorPort) } });
  tenant = await forge.createTenant("dl");
  const res = await send("POST", "/api/v1/projects", {
    headers: { authorization: `token ${tenant.owner.token}`, "content-type": "application/json" },
    chunks: [Buffer.from(JSON.stringify({ name: PROJECT }))],
  });
  expect(res.status, res.body.toString()).toBe(201);
  // One sample (stop() ends after the first round): the isolate with the forge loaded, at rest.
  idle = edgePeak(await (await sampleHeap(inspectorPort, 100, false, true)).stop()).used;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await forge?.stop();
});

describe("a 150 MiB download", () => {
  const hash = createHash("sha256");
  const name = "big-1.0.bin";

  it("streams up through the API with bounded memory, and the forge's SHA-256 is Node's", async () => {
    const sampler = await sampleHeap(inspectorPort, 100, false, true);
    const res = await send("POST", `/api/v1/projects/${PROJECT}/downloads?name=${name}&labels=Featured`, {
      headers: { authorization: `token ${tenant.owner.token}`, "content-length": String(SIZE) },
      chunks: (function* () {
        for (const c of generate(SIZE)) {
          hash.update(c);
          yield c;
        }
      })(),
    });
    const peaks = await sampler.stop();
    expect(res.status, res.body.toString().slice(0, 300)).toBe(201);
    const expected = hash.digest("hex");
    const file = JSON.parse(res.body.toString()) as { sha256: string; size: number };
    expect(file).toMatchObject({ sha256: expected, size: SIZE });
    const edge = edgePeak(peaks);
    console.log(
      `upload of ${mib(SIZE)}: edge isolate peak used heap ${mib(edge.used)} (with buffers ${mib(edge.withBuffers)}; at rest before: ${mib(idle)})`,
    );
    for (const [title, p] of Object.entries(peaks))
      console.log(`  ${title}: ${mib(p.used)} (with buffers ${mib(p.withBuffers)})`);
    // The file streams through: the isolate holds a part of it (8 MiB R2 parts), never the whole
    // (which alone would pass the 128 MB cap and crash the isolate).
    expect(edge.used).toBeLessThan(96 * MiB);
    // The file's page shows the same SHA-256.
    const page = await send("GET", `/p/${PROJECT}/downloads/${name}/details`);
    expect(page.body.toString()).toContain(expected);
  }, 600_000);

  it("comes back whole and identical, as an attachment, with bounded memory", async () => {
    const back = createHash("sha256");
    const sampler = await sampleHeap(inspectorPort, 100, false, true);
    const res = await send("GET", `/p/${PROJECT}/downloads/${name}`, { onChunk: (c) => back.update(c) });
    const peaks = await sampler.stop();
    expect(res.status).toBe(200);
    expect(res.bytes).toBe(SIZE);
    expect(res.headers["content-disposition"]).toMatch(/^attachment;/);
    const expected = JSON.parse((await send("GET", `/api/v1/projects/${PROJECT}/downloads/${name}`)).body.toString()) as {
      sha256: string;
    };
    expect(back.digest("hex")).toBe(expected.sha256);
    expect(res.headers.etag).toBe(`"${expected.sha256}"`);
    const edge = edgePeak(peaks);
    console.log(
      `download of ${mib(SIZE)}: edge isolate peak used heap ${mib(edge.used)} (with buffers ${mib(edge.withBuffers)})`,
    );
    expect(edge.used).toBeLessThan(64 * MiB);
    // A range from the middle.
    const part = await send("GET", `/p/${PROJECT}/downloads/${name}`, {
      headers: { range: `bytes=${100 * MiB}-${100 * MiB + 15}` },
    });
    expect(part.status).toBe(206);
    let n = 0;
    for (const chunk of generate(101 * MiB)) if (n++ === 100) expect(part.body).toEqual(chunk.subarray(0, 16));
  }, 600_000);
});

describe("the upload form in Chromium", () => {
  it("uploads a small file with its summary and labels, and shows its SHA-256", async () => {
    browser = await launchChromium();
    const page = await (await browser.newContext()).newPage();
    await page.goto(forge.url(tenant.host, "/account/login"));
    await page.fill("#f-login", tenant.owner.username);
    await page.fill("#f-password", tenant.owner.password);
    await Promise.all([page.waitForURL(forge.url(tenant.host, "/")), page.click("button[type=submit].primary")]);
    await page.goto(forge.url(tenant.host, `/p/${PROJECT}/downloads/new`));
    const data = Buffer.from("hello from Chromium\n".repeat(1000));
    await page.fill("#f-summary", "Notes <b>typed</b> in a browser");
    await page.check('input[name="l.OpSys:Linux"]');
    await page.fill("#f-changelog", "- **first** version");
    await page.setInputFiles("#f-file", { name: "notes.txt", mimeType: "text/plain", buffer: data });
    await Promise.all([
      page.waitForURL(/\/downloads\/notes\.txt\/details\?ok=uploaded$/),
      page.click("button[type=submit].primary"),
    ]);
    const sha = await page.textContent("dd.sha256");
    expect(sha?.trim()).toBe(createHash("sha256").update(data).digest("hex"));
    expect(await page.textContent("h1")).toBe("notes.txt");
    expect(await page.locator(".md strong").textContent()).toBe("first");
    expect(await page.content()).toContain("Notes &lt;b&gt;typed&lt;/b&gt; in a browser");
    // The list shows it, with its label as a filter link.
    await page.goto(forge.url(tenant.host, `/p/${PROJECT}/downloads/?label=OpSys:Linux`));
    expect(await page.locator("table.downloads a").allTextContents()).toContain("notes.txt");
  }, 120_000);
});
