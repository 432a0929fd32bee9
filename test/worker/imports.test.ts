// Repository imports through the admin API, in workerd with real R2 multipart uploads, the push
// worker and the Repo Durable Object: resuming, refusing bad packs without leaving anything
// visible, and publishing refs only into an empty repository.
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { RepoBuilder } from "./git-fixture";
import { ADMIN_HOST, ADMIN_TOKEN, admin, createTenant, edge, uniqueSlug } from "./helpers";

const env = workerEnv as unknown as { OBJECTS: R2Bucket };

let slug: string;
let host: string;
let tenantId: string;

beforeAll(async () => {
  slug = uniqueSlug("imp");
  const created = await createTenant(slug);
  host = created.tenant.hosts[0]!;
  tenantId = created.tenant.id;
});

/** Spill parts of the tenant's repositories still in R2 (checks of packs leave none). */
async function spillParts(): Promise<string[]> {
  const listed = await env.OBJECTS.list({ prefix: `t/${tenantId}/r/` });
  return listed.objects.map((o) => o.key).filter((k) => k.includes("/spill/"));
}

function sample() {
  const repo = new RepoBuilder();
  const first = repo.commit({ files: { "README.md": "# hello\n", "src/a.txt": "a\n" }, message: "first" });
  const second = repo.commit({
    files: { "README.md": "# hello\nworld\n", "src/a.txt": "a\n" },
    parents: [first],
    message: "second",
  });
  return { repo, first, second };
}

const base = (project: string) => `/api/v1/tenants/${slug}/projects/${project}/imports`;

async function putPart(project: string, id: string, part: number, bytes: Uint8Array): Promise<Response> {
  return edge(`http://${ADMIN_HOST}${base(project)}/${id}/parts/${part}`, {
    method: "PUT",
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      "content-type": "application/octet-stream",
      "content-length": String(bytes.length),
    },
    body: bytes,
  });
}

async function newProject(name: string): Promise<void> {
  const res = await admin("POST", `/api/v1/tenants/${slug}/projects`, { name });
  expect(res.status).toBe(201);
}

async function lsRefs(project: string): Promise<string> {
  const res = await edge(`http://${host}/${project}.git/info/refs?service=git-upload-pack`);
  return res.text();
}

describe("imports", () => {
  it("resumes an upload of the same pack, then publishes its refs in one step", async () => {
    await newProject("resumed");
    const { repo, second } = sample();
    const { pack, checksum } = repo.pack();
    const start = () =>
      admin("POST", base("resumed"), {
        size: pack.length,
        checksum,
        refs: [{ name: "refs/heads/main", oid: second }],
        head: "refs/heads/main",
      });
    const first = (await (await start()).json()) as { id: string; parts: number; uploaded_parts: number[] };
    expect(first).toMatchObject({ parts: 1, uploaded_parts: [] });
    expect((await putPart("resumed", first.id, 1, pack)).status).toBe(200);
    // Starting again with the same pack finds the same import, with its part already there.
    const again = (await (await start()).json()) as { id: string; uploaded_parts: number[] };
    expect(again.id).toBe(first.id);
    expect(again.uploaded_parts).toEqual([1]);
    expect(await lsRefs("resumed")).not.toContain(second);
    const done = await admin("POST", `${base("resumed")}/${first.id}/complete`);
    expect(done.status, await done.clone().text()).toBe(200);
    expect(await done.json()).toMatchObject({ objects: repo.objects.size, refs: 1, complete: true });
    expect(await lsRefs("resumed")).toContain(`${second} refs/heads/main`);
  });

  it("refuses parts of the wrong size or number", async () => {
    await newProject("sizes");
    const { repo, second } = sample();
    const { pack, checksum } = repo.pack();
    const started = await admin("POST", base("sizes"), {
      size: pack.length,
      checksum,
      refs: [{ name: "refs/heads/main", oid: second }],
      head: "refs/heads/main",
    });
    const { id } = (await started.json()) as { id: string };
    expect((await putPart("sizes", id, 1, pack.subarray(1))).status).toBe(400);
    expect((await putPart("sizes", id, 2, pack)).status).toBe(400);
    expect((await admin("POST", `${base("sizes")}/${id}/complete`)).status).toBe(400);
  });

  it("refuses a corrupt pack or one missing objects, and nothing becomes visible", async () => {
    const { repo, first, second } = sample();
    for (const [project, mangle] of [
      [
        "corrupt",
        (p: Uint8Array) => {
          const copy = p.slice();
          copy[30] = copy[30]! ^ 0xff;
          return copy;
        },
      ],
      ["missing", null],
    ] as const) {
      await newProject(project);
      const built = project === "missing" ? repo.pack([second]) : repo.pack();
      const pack = mangle ? mangle(built.pack) : built.pack;
      const started = await admin("POST", base(project), {
        size: pack.length,
        checksum: built.checksum,
        refs: [{ name: "refs/heads/main", oid: second }],
        head: "refs/heads/main",
      });
      const { id } = (await started.json()) as { id: string };
      expect((await putPart(project, id, 1, pack)).status).toBe(200);
      const done = await admin("POST", `${base(project)}/${id}/complete`);
      expect(done.status).toBe(400);
      const { error } = (await done.json()) as { error: { message: string } };
      expect(error.message).toMatch(/refused/);
      expect(await lsRefs(project)).not.toContain(second);
      expect(await lsRefs(project)).not.toContain(first);
      // The import is gone: starting over works.
      const restart = await admin("POST", base(project), {
        size: pack.length,
        checksum: built.checksum,
        refs: [{ name: "refs/heads/main", oid: second }],
        head: "refs/heads/main",
      });
      expect(((await restart.json()) as { uploaded_parts: number[] }).uploaded_parts).toEqual([]);
    }
  });

  it("checks a pack of thousands of links in spilled runs (the tests' 4 KiB budget), and leaves no part behind, imported or refused", async () => {
    const repo = new RepoBuilder();
    const files: Record<string, string> = {};
    for (let d = 0; d < 10; d++) for (let f = 0; f < 20; f++) files[`d${d}/f${f}.txt`] = `${d}/${f}\n`;
    let tip = repo.commit({ files: { ...files }, message: "start" });
    for (let i = 0; i < 60; i++) {
      files[`d${i % 10}/f${i % 20}.txt`] = `change ${i}\n`;
      tip = repo.commit({ files: { ...files }, parents: [tip], message: `change ${i}` });
    }
    const lacking = repo.blob("4/9\n");
    for (const [project, only] of [
      ["spilled", undefined],
      ["spilled-missing", [...repo.objects.keys()].filter((oid) => oid !== lacking)],
    ] as const) {
      await newProject(project);
      const { pack, checksum } = repo.pack(only);
      const body = { size: pack.length, checksum, refs: [{ name: "refs/heads/main", oid: tip }], head: "refs/heads/main" };
      const { id } = (await (await admin("POST", base(project), body)).json()) as { id: string };
      expect((await putPart(project, id, 1, pack)).status).toBe(200);
      const done = await admin("POST", `${base(project)}/${id}/complete`);
      if (only) {
        expect(done.status).toBe(400);
        const { error } = (await done.json()) as { error: { message: string } };
        expect(error.message).toBe(`the pack was refused: the pack lacks object ${lacking}, which it refers to`);
        expect(await lsRefs(project)).not.toContain(tip);
      } else {
        expect(done.status, await done.clone().text()).toBe(200);
        expect(await done.json()).toMatchObject({ objects: repo.objects.size, complete: true });
        expect(await lsRefs(project)).toContain(`${tip} refs/heads/main`);
      }
      expect(await spillParts()).toEqual([]);
    }
  });

  it("imports only into an empty repository, and validates refs", async () => {
    await newProject("twice");
    const { repo, second } = sample();
    const { pack, checksum } = repo.pack();
    const body = { size: pack.length, checksum, refs: [{ name: "refs/heads/main", oid: second }], head: "refs/heads/main" };
    const { id } = (await (await admin("POST", base("twice"), body)).json()) as { id: string };
    await putPart("twice", id, 1, pack);
    expect((await admin("POST", `${base("twice")}/${id}/complete`)).status).toBe(200);
    expect((await admin("POST", base("twice"), body)).status).toBe(409);
    await newProject("badrefs");
    for (const refs of [
      [{ name: "HEAD", oid: second }],
      [{ name: "refs/heads/a..b", oid: second }],
      [{ name: "refs/heads/x", oid: "xyz" }],
    ]) {
      expect((await admin("POST", base("badrefs"), { ...body, refs })).status).toBe(400);
    }
  });
});
