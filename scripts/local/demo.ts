// First-start seeding of the local forge: the demo tenant at demo.localhost with a demo project,
// whose repository holds this checkout's own git history when there is one.
import { execFileSync } from "node:child_process";
import type { LocalForge } from "./runner";
import { projectRoot } from "./build";
import { bundleRepository, uploadBundle } from "../../bin/cli/import";

export const DEMO = {
  slug: "demo",
  host: "demo.localhost",
  owner: { username: "demo", email: "demo@example.com", password: "demo-password" },
  project: { name: "demo", description: "A demo project: browse its source, file issues, clone it." },
};

async function call(
  forge: LocalForge,
  host: string,
  method: string,
  path: string,
  body?: unknown,
  raw?: Buffer,
): Promise<Response> {
  return forge.dispatch(`${forge.url(host)}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${forge.adminToken}`,
      "content-type": raw ? "application/octet-stream" : "application/json",
      ...(raw ? { "content-length": String(raw.length) } : {}),
    },
    body: raw ? (raw as unknown as BodyInit) : body === undefined ? undefined : JSON.stringify(body),
  });
}

function hasHistory(dir: string): boolean {
  try {
    execFileSync("git", ["-C", dir, "rev-parse", "--verify", "--quiet", "HEAD"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Imports this checkout's history into the demo project (the same path as `forge repos import`). */
async function seedHistory(forge: LocalForge, platformHost: string, phase: (what: string) => void): Promise<void> {
  if (!hasHistory(projectRoot)) return;
  const { bundle, cleanup } = bundleRepository(projectRoot);
  try {
    await uploadBundle(
      async <T>(method: string, path: string, body?: unknown, raw?: Buffer) => {
        const res = await call(forge, platformHost, method, path, body, raw);
        if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
        return (await res.json()) as T;
      },
      DEMO.slug,
      DEMO.project.name,
      bundle,
      (message) => phase(`importing the demo repository: ${message}`),
    );
  } finally {
    cleanup();
  }
}

/** Creates the demo tenant and project unless the demo tenant exists; returns the owner's token if created. */
export async function seedDemo(
  forge: LocalForge,
  platformHost: string,
  phase: (what: string) => void = () => undefined,
): Promise<string | null> {
  const existing = await call(forge, platformHost, "GET", `/api/v1/tenants/${DEMO.slug}`);
  await existing.arrayBuffer();
  if (existing.status === 200) return null;
  phase("creating the demo forge");
  const created = await call(forge, platformHost, "POST", "/api/v1/tenants", {
    slug: DEMO.slug,
    name: "Demo forge",
    hosts: [DEMO.host],
    owner: DEMO.owner,
  });
  if (created.status !== 201) throw new Error(`creating the demo tenant failed: ${created.status} ${await created.text()}`);
  const { owner } = (await created.json()) as { owner: { token: string } };
  for (let attempt = 0; ; attempt++) {
    const res = await call(forge, platformHost, "POST", `/api/v1/tenants/${DEMO.slug}/projects`, {
      ...DEMO.project,
      owner: DEMO.owner.username,
    });
    if (res.status === 201 || res.status === 409) break;
    if (res.status !== 503 || attempt > 100)
      throw new Error(`creating the demo project failed: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
    await new Promise((r) => setTimeout(r, 100));
  }
  phase("bundling the demo repository (this checkout's history)");
  await seedHistory(forge, platformHost, phase).catch((err) =>
    console.log(`the demo repository stays empty: ${(err as Error).message}`),
  );
  return owner.token;
}
