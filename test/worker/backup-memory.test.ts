// A tenant holding a 512 MiB file exports within the isolate's 128 MB (workerd runs these tests
// with that cap): the archive streams each R2 object through, hashing it on the way, and the
// manifest's size and SHA-256 of it are those of the bytes stored.
import { env as workerEnv } from "cloudflare:workers";
import { expect, it } from "vitest";
import type { Manifest } from "../../src/services/backup/format";
import { readTar } from "../../src/services/backup/tar";
import { hex } from "../../src/utils/crypto";
import { admin, createTenant, uniqueSlug } from "./helpers";

const env = workerEnv as unknown as { OBJECTS: R2Bucket };
const MiB = 1024 * 1024;
const SIZE = 512 * MiB;

/** 1 MiB blocks, each different (its number in its first bytes), `SIZE` bytes in all. */
function block(i: number): Uint8Array {
  const b = new Uint8Array(MiB).fill(i % 251);
  new DataView(b.buffer).setUint32(0, i);
  return b;
}

it("exports a tenant with a 512 MiB file, streamed: the manifest has its size and SHA-256", async () => {
  const slug = uniqueSlug("big");
  const { tenant } = await createTenant(slug);
  const fixed = new FixedLengthStream(SIZE);
  const writing = env.OBJECTS.put(`t/${tenant.id}/downloads/big/image.bin`, fixed.readable);
  const writer = fixed.writable.getWriter();
  const expected = new crypto.DigestStream("SHA-256");
  const expectedWriter = expected.getWriter();
  for (let i = 0; i < SIZE / MiB; i++) {
    await writer.write(block(i));
    await expectedWriter.write(block(i));
  }
  await writer.close();
  await expectedWriter.close();
  await writing;

  const started = Date.now();
  const res = await admin("GET", `/api/v1/tenants/${slug}/export`);
  expect(res.status).toBe(200);
  let manifest: Manifest | null = null;
  let bigBytes = 0;
  for await (const entry of readTar(res.body!)) {
    if (entry.name === "objects/downloads/big/image.bin") for await (const part of entry.body) bigBytes += part.length;
    if (entry.name === "manifest.json") {
      let text = "";
      for await (const part of entry.body) text += new TextDecoder().decode(part, { stream: true });
      manifest = JSON.parse(text) as Manifest;
    }
  }
  console.log(`exported ${SIZE / MiB} MiB in ${Date.now() - started} ms`);
  expect(bigBytes).toBe(SIZE);
  const entry = manifest!.entries.find((e) => e.name === "objects/downloads/big/image.bin");
  expect(entry).toMatchObject({ size: SIZE, sha256: hex(await expected.digest) });
  await admin("DELETE", `/api/v1/tenants/${slug}?confirm=${slug}`);
}, 600_000);
