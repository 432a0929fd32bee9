// Real Gitea clients against the local forge (issue 16): gitea-js lists repositories, reads a
// file, files, labels, comments on and closes an issue and pages through 120 issues;
// openapi-typescript turns the served OpenAPI document into types that a small client
// type-checks against; and the document passes `redocly lint` with the recommended rules.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { giteaApi } from "gitea-js";
import { request } from "../../bin/cli/http";
import { root, sharedForge, type RunningForge, type TestTenant } from "./runner";
import { gitOk, tempDir } from "./git";

const run = promisify(execFile);

let forge: RunningForge;
let tenant: TestTenant;

/** fetch for gitea-js through the CLI's client, which resolves names under .localhost to loopback. */
const localFetch: typeof fetch = async (input, init) => {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  const headers: Record<string, string> = {};
  new Headers(init?.headers).forEach((v, k) => {
    headers[k] = v;
  });
  const body = typeof init?.body === "string" ? init.body : undefined;
  const res = await request(url, { method: init?.method ?? "GET", headers, body });
  const out = new Headers();
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out.set(k, Array.isArray(v) ? v.join(", ") : v);
  return new Response(res.status === 204 ? null : new Uint8Array(res.body), { status: res.status, headers: out });
};

const client = () => giteaApi(forge.url(tenant.host, ""), { token: tenant.owner.token, customFetch: localFetch });

beforeAll(async () => {
  forge = await sharedForge();
  tenant = await forge.createTenant("gitea");
  for (const name of ["site", "many"]) {
    const r = await forge.cli("projects", "create", tenant.slug, name);
    expect(r.code, r.stderr).toBe(0);
  }
  const dir = tempDir("gitea");
  await gitOk(["init", "--quiet", "-b", "main", dir]);
  writeFileSync(join(dir, "README.md"), "# Site\n\nHello from the forge.\n");
  await gitOk(["add", "README.md"], { cwd: dir });
  await gitOk(["commit", "--quiet", "-m", "Start"], { cwd: dir });
  await gitOk(["push", "--quiet", `http://owner:${tenant.owner.token}@${tenant.host}:${forge.port}/site.git`, "main"], {
    cwd: dir,
  });
}, 180_000);

afterAll(async () => {
  await forge?.stop();
});

describe("gitea-js", () => {
  it("lists repositories and reads a file", async () => {
    const api = client();
    const version = await api.version.getVersion();
    expect(version.data.version).toMatch(/^1\.23/);
    const repos = await api.orgs.orgListRepos(tenant.slug);
    expect(repos.data.map((r) => r.full_name)).toEqual([`${tenant.slug}/many`, `${tenant.slug}/site`]);
    const file = await api.repos.repoGetContents(tenant.slug, "site", "README.md");
    const contents = file.data as { content?: string; encoding?: string };
    expect(contents.encoding).toBe("base64");
    expect(Buffer.from(contents.content!, "base64").toString()).toContain("Hello from the forge.");
  });

  it("files an issue, labels it, comments on it and closes it", async () => {
    const api = client();
    const created = await api.repos.issueCreateIssue(tenant.slug, "site", { title: "Typo on the home page", body: "Helo" });
    expect(created.status).toBe(201);
    const index = created.data.number!;
    const labels = await api.repos.issueListLabels(tenant.slug, "site");
    const defect = labels.data.find((l) => l.name === "Type:Defect")!;
    const labelled = await api.repos.issueAddLabel(tenant.slug, "site", index, { labels: [defect.id!] });
    expect(labelled.data.map((l) => l.name)).toEqual(["Type:Defect"]);
    await api.repos.issueCreateComment(tenant.slug, "site", index, { body: "Fixed in the next push." });
    const closed = await api.repos.issueEditIssue(tenant.slug, "site", index, { state: "closed" });
    expect(closed.data.state).toBe("closed");
    const issue = await api.repos.issueGetIssue(tenant.slug, "site", index);
    expect(issue.data).toMatchObject({ state: "closed", comments: 1 });
    expect(issue.data.labels!.map((l) => l.id)).toEqual([defect.id]);
    const comments = await api.repos.issueGetComments(tenant.slug, "site", index);
    expect(comments.data.map((c) => c.body)).toEqual(["Fixed in the next push."]);
  });

  it("pages through 120 issues, 50 at a time", async () => {
    const api = client();
    for (let i = 1; i <= 120; i++) await api.repos.issueCreateIssue(tenant.slug, "many", { title: `Issue ${i}` });
    const seen: number[] = [];
    for (let page = 1; ; page++) {
      const res = await api.repos.issueListIssues(tenant.slug, "many", { state: "all", page, limit: 50 });
      expect(res.headers.get("x-total-count")).toBe("120");
      if (res.data.length === 0) break;
      seen.push(...res.data.map((i) => i.number!));
    }
    expect(seen.length).toBe(120);
    expect(new Set(seen).size).toBe(120);
    // Gitea clamps what it cannot give: a limit of 1000 is a page of 50.
    expect((await api.repos.issueListIssues(tenant.slug, "many", { limit: 1000 })).data.length).toBe(50);
  }, 120_000);
});

describe("the OpenAPI document", () => {
  let docFile: string;
  let dir: string;
  beforeAll(async () => {
    const res = await request(forge.url(tenant.host, "/api/v1/openapi.json"));
    expect(res.status).toBe(200);
    dir = tempDir("openapi");
    docFile = join(dir, "openapi.json");
    writeFileSync(docFile, res.body);
  });

  it("generates types with openapi-typescript that a small client type-checks against", async () => {
    const bin = join(root, "node_modules", ".bin");
    await run(join(bin, "openapi-typescript"), [docFile, "-o", join(dir, "schema.d.ts")], { cwd: root });
    writeFileSync(
      join(dir, "client.ts"),
      `import type { paths } from "./schema";
type Json<P extends keyof paths, M extends keyof paths[P], S extends number> = paths[P][M] extends {
  responses: { [K in S]: { content: { "application/json": infer T } } };
}
  ? T
  : never;
export type Issue = Json<"/api/v1/repos/{owner}/{repo}/issues/{index}", "get", 200>;
export type NewIssue = paths["/api/v1/repos/{owner}/{repo}/issues"]["post"]["requestBody"]["content"]["application/json"];
export async function getIssue(base: string, owner: string, repo: string, index: number): Promise<Issue> {
  const res = await fetch(\`\${base}/api/v1/repos/\${owner}/\${repo}/issues/\${index}\`);
  return (await res.json()) as Issue;
}
export function summary(issue: Issue): string {
  const labels: string[] = issue.labels.map((l) => \`\${l.id}:\${l.name}:\${l.color}\`);
  const due: string | null = issue.due_date;
  return \`#\${issue.number} \${issue.title} [\${issue.state}] \${labels.join(",")} \${due ?? ""} by \${issue.user?.login ?? "?"}\`;
}
export const draft: NewIssue = { title: "From a typed client", labels: [1], assignees: ["owner"] };
// The types are real: a wrong field type does not compile.
// @ts-expect-error number is a number
export const wrong: string = ({} as Issue).number;
`,
    );
    const tsc = join(bin, "tsc");
    const args = ["--noEmit", "--strict", "--target", "es2022", "--module", "es2022", "--moduleResolution", "bundler"];
    const result = await run(tsc, [...args, "--lib", "es2022,dom", join(dir, "client.ts")], { cwd: dir }).catch((e) => e);
    expect(`${result.stdout ?? ""}${result.stderr ?? ""}`).toBe("");
  }, 120_000);

  it("passes redocly lint with the recommended rules", async () => {
    const result = await run(
      join(root, "node_modules", ".bin", "redocly"),
      ["lint", docFile, "--extends=recommended", "--format=stylish"],
      {
        cwd: dir,
        env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
      },
    ).catch((e) => e);
    const out = `${result.stdout ?? ""}${result.stderr ?? ""}`;
    expect(result.code ?? 0, out).toBe(0);
    expect(out).toMatch(/Your API description is valid/);
    // The one kind of warning left is Gitea's own paths, which a compatible API must keep:
    // .../issues/{index}/comments and .../issues/comments/{id} both match .../issues/comments/comments.
    const warnings = out.split("\n").filter((l) => /\bwarning\s+[a-z0-9-]+\s/.test(l));
    expect(warnings.map((l) => /warning\s+([a-z0-9-]+)/.exec(l)![1])).toEqual(["no-ambiguous-paths", "no-ambiguous-paths"]);
  }, 120_000);
});
