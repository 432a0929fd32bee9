// Markdown in the pages that show it: the README on the project home and in the source browser,
// and the rendered view of a .md file (source one click away), with relative links and images
// resolved against the file's folder at the commit shown.
import { beforeAll, describe, expect, it } from "vitest";
import README from "../fixtures/markdown/readme.md?raw";
import { Browser, newForge, type Forge } from "./browser";
import { RepoBuilder, importRepo } from "./git-fixture";

let forge: Forge;
let commit: string;
const repo = new RepoBuilder();

beforeAll(async () => {
  forge = await newForge("md");
  commit = repo.commit({
    files: {
      "README.md": README,
      LICENSE: "MIT\n",
      "docs/guide.md":
        "# Guide\n\n## API\n\nBack to the [README](../README.md), see [gizmos](gizmos.md#kinds) and ![diagram](img/flow.png).\n\n<script>alert(1)</script>\n",
      "docs/gizmos.md": "# Gizmos\n\n## Kinds\n",
      "docs/img/flow.png": new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      "notes.txt": "[not](markdown.md)\n",
    },
    message: "Docs",
  });
  await importRepo(forge.slug, "widget", repo, { "refs/heads/main": commit });
}, 60_000);

async function html(path: string): Promise<string> {
  const res = await new Browser(forge.host).get(path);
  expect(res.status, path).toBe(200);
  return res.text();
}

/** The rendered Markdown of a page (the .md block). */
const markdownOf = (page: string) => /<div class="md[^"]*">([\s\S]*?)<\/div>\s*(?:<\/section>|<\/main>|$)/.exec(page)?.[1] ?? "";

describe("Markdown pages", () => {
  it("shows the README on the project home rendered, with its HTML, and relative URLs resolved at the commit", async () => {
    const page = await html("/p/widget/");
    const md = markdownOf(page);
    expect(md).not.toBe("");
    expect(md.replace(/<[^>]*>/g, "")).not.toMatch(/&lt;\/?[a-z]/i);
    expect(md).toContain(
      `<source media="(prefers-color-scheme: dark)" srcset="/p/widget/source/raw/${commit}/docs/logo-dark.png">`,
    );
    expect(md).toContain(`<img alt="Widget logo" src="/p/widget/source/raw/${commit}/docs/logo-light.png" width="240">`);
    expect(md).toContain(`href="/p/widget/source/blob/${commit}/docs/guide.md#user-content-api"`);
    expect(md).toContain(`href="/p/widget/source/tree/${commit}/examples"`);
    expect(md).toContain('<input type="checkbox" class="task-list-item-checkbox" disabled checked> Widgets');
    expect(md).toContain("<details>");
  });

  it("shows the same README in the source browser", async () => {
    const md = markdownOf(await html("/p/widget/source/"));
    expect(md).toContain(`src="/p/widget/source/raw/${commit}/img/screenshot.png"`);
    expect(md).toContain(`href="/p/widget/source/blob/${commit}/LICENSE"`);
  });

  it("renders a .md file by default, its links resolved against its folder, the source one click away", async () => {
    const page = await html("/p/widget/source/blob/main/docs/guide.md");
    expect(page).toContain('<a href="/p/widget/source/blob/main/docs/guide.md?plain=1">Source</a>');
    expect(page).toContain(
      '<h2 id="user-content-api"><a class="heading-anchor" href="#user-content-api" aria-hidden="true">#</a> API</h2>',
    );
    expect(page).toContain(`href="/p/widget/source/blob/${commit}/README.md"`);
    expect(page).toContain(`href="/p/widget/source/blob/${commit}/docs/gizmos.md#user-content-kinds"`);
    expect(page).toContain(`src="/p/widget/source/raw/${commit}/docs/img/flow.png"`);
    expect(page).not.toContain("alert(1)");
    // The image URL it points at answers with the image.
    const img = await new Browser(forge.host).get(`/p/widget/source/raw/${commit}/docs/img/flow.png`);
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/png");
  });

  it("shows the source with ?plain=1, and links back to the rendered view", async () => {
    const page = await html("/p/widget/source/blob/main/docs/guide.md?plain=1");
    expect(page).toContain('<a href="/p/widget/source/blob/main/docs/guide.md">Rendered</a>');
    expect(page).not.toContain('id="user-content-api"');
    expect(page).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    // The rendered view is still what the plain URL is not (the page cache keeps them apart).
    expect(await html("/p/widget/source/blob/main/docs/guide.md")).toContain('id="user-content-api"');
  });

  it("leaves other files as source, with no switch", async () => {
    const page = await html("/p/widget/source/blob/main/notes.txt");
    expect(page).not.toContain("?plain=1");
    expect(page).not.toContain(">Rendered</a>");
    expect(page).toContain("[not](markdown.md)");
  });
});
