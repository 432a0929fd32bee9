// Tenants created at once through the admin API of a running local forge (the real local
// tenant databases: Durable Objects, as deployed) are each served at once, each from its own database.
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { request } from "../../bin/cli/http";
import { sharedForge, type RunningForge } from "./runner";

let forge: RunningForge;
beforeAll(async () => {
  forge = await sharedForge();
});

describe("provisioning on the local forge", () => {
  it("creates 20 tenants with 20 concurrent POSTs: 20 working forges, none seeing another's data", async () => {
    const run = randomBytes(3).toString("hex");
    const slugs = Array.from({ length: 20 }, (_, i) => `race-${run}-${i}`);
    const answers = await Promise.all(
      slugs.map((slug) =>
        forge.admin("POST", "/api/v1/tenants", {
          slug,
          name: `Race ${slug}`,
          hosts: [`${slug}.localhost`],
          owner: { username: "owner", email: "owner@example.com" },
        }),
      ),
    );
    expect(answers.map((r) => `${r.status} ${r.status === 201 ? "" : r.text()}`)).toEqual(slugs.map(() => "201 "));
    const tenants = answers.map((r) => r.json<{ tenant: { id: string; status: string } }>().tenant);
    // Active when the answer comes: no reload of the runtime, no waiting for a binding.
    expect(tenants.map((t) => t.status)).toEqual(slugs.map(() => "active"));
    expect(new Set(tenants.map((t) => t.id)).size).toBe(20);

    for (const [i, slug] of slugs.entries()) {
      const created = await forge.admin("POST", `/api/v1/tenants/${slug}/projects`, { name: `only-${i}` });
      expect(created.status, created.text()).toBe(201);
    }
    for (const [i, slug] of slugs.entries()) {
      const page = (path: string) => request(forge.url(`${slug}.localhost`, path));
      const home = await page("/");
      expect(home.status).toBe(200);
      expect(home.text()).toContain(`Race ${slug}`);
      expect((await page(`/p/only-${i}/`)).status).toBe(200);
      expect((await page(`/p/only-${(i + 1) % 20}/`)).status).toBe(404);
    }
    for (const slug of slugs) {
      expect((await forge.admin("DELETE", `/api/v1/tenants/${slug}?confirm=${slug}`)).status).toBe(200);
    }
  });
});
