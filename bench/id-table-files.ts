// Writes the id table file (git/pack-id-table-file.ts) beside every .idx of a kept forge state
// that has none, as packs indexed since session 13 have it when their index is read by ranges
// (the forge looks for the file only then; a small pack's here is never read): so that a state
// imported before can be measured with the files (bench/blame-probe.ts on a copy).
// Run with the forge stopped: STATE=<state folder> node --import tsx bench/id-table-files.ts
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { idTableFileOf } from "../src/git/pack-id-table-file";
import { r2Keys } from "../src/storage/keys";

const state = process.env.STATE;
if (!state) throw new Error("STATE=<state folder> is required");
const mf = new Miniflare({
  modules: true,
  script: "export default { fetch() { return new Response(); } }",
  // The bucket the local runner's storage process persists (scripts/local/storage-process.ts).
  r2Buckets: { OBJECTS: "objects" },
  defaultPersistRoot: join(state, "data"),
});
try {
  const bucket = await mf.getR2Bucket("OBJECTS");
  let cursor: string | undefined;
  do {
    const listed = await bucket.list({ prefix: "t/", cursor });
    for (const o of listed.objects) {
      if (!o.key.endsWith(".idx")) continue;
      const key = r2Keys.packIdTableBeside(o.key);
      if (await bucket.head(key)) continue;
      const idx = new Uint8Array(await (await bucket.get(o.key))!.arrayBuffer());
      const count = new DataView(idx.buffer, idx.byteOffset).getUint32(8 + 255 * 4);
      const file = idTableFileOf(idx);
      await bucket.put(key, file);
      console.log(`${key}: ${count} objects, ${file.length} bytes (the .idx: ${idx.length})`);
    }
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
} finally {
  await mf.dispose();
}
