// Repository text with HTML in it (file and folder names, branch and tag names, commit messages,
// file contents) comes out escaped on every source page: the views escape each interpolation and
// only highlighter/Markdown output enters unescaped (test/node/raw-html.test.ts keeps it so).
import { beforeAll, describe, expect, it } from "vitest";
import { Browser, newForge, type Forge } from "./browser";
import { RepoBuilder, importRepo } from "./git-fixture";

const EVIL = `<img src=x onerror=alert(1)>`;
/** Ref names may not hold spaces: the same attack with slashes. */
const EVIL_BRANCH = `x"'<img/src=x/onerror=alert(1)>&`;
const EVIL_TAG = `t"<img/src=x/onerror=alert(2)>&`;
const FILE = `${EVIL} "q" & 'a'.txt`;
const CODE = `${EVIL}.js`;
const DIR = `${EVIL} & "dir"`;
const MESSAGE = `Fix ${EVIL} & "quotes" 'too'\n\nBody with ${EVIL} & more.`;

let forge: Forge;
const oids = {} as Record<"c1" | "c2", string>;
const enc = (s: string) => s.split("/").map(encodeURIComponent).join("/");

beforeAll(async () => {
  forge = await newForge("esc");
  const repo = new RepoBuilder();
  const files1 = { "README.md": "# Readme\n", [FILE]: `${EVIL}\n` };
  oids.c1 = repo.commit({ files: files1, message: "First commit", author: "Ada Lovelace" });
  const files2 = {
    ...files1,
    [FILE]: `${EVIL}\nline "two" & 'three'\n`,
    [CODE]: `const s = "${EVIL}"; // ${EVIL} & co\n`,
    [`${DIR}/${EVIL}.txt`]: "inside\n",
  };
  oids.c2 = repo.commit({ files: files2, parents: [oids.c1], message: MESSAGE, author: "Grace Hopper" });
  await importRepo(forge.slug, "esc", repo, {
    "refs/heads/main": oids.c2,
    [`refs/heads/${EVIL_BRANCH}`]: oids.c2,
    "refs/heads/old": oids.c1,
    [`refs/tags/${EVIL_TAG}`]: oids.c1,
  });
}, 60_000);

async function page(path: string): Promise<string> {
  const res = await new Browser(forge.host).get(`/p/esc/source/${path}`);
  expect(res.status, path).toBe(200);
  return res.text();
}

/** No element made of repository text, and the text itself shown, escaped. */
function expectEscaped(body: string, ...shown: string[]) {
  expect(body).not.toMatch(/<img[^>]*onerror/i);
  expect(body).not.toContain(EVIL);
  for (const s of shown) expect(body).toContain(s);
}
const EVIL_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;";

describe("source pages escape repository text", () => {
  it("on trees: file, folder and branch names, the commit message", async () => {
    expectEscaped(
      await page(`tree/main/`),
      `${EVIL_ESCAPED} &quot;q&quot; &amp; &#39;a&#39;.txt`,
      `${EVIL_ESCAPED} &amp; &quot;dir&quot;/`,
    );
    expectEscaped(await page(`tree/main/${enc(DIR)}`), `${EVIL_ESCAPED}.txt`);
    expectEscaped(await page(`tree/${enc(EVIL_BRANCH)}/`), "x&quot;&#39;&lt;img/src=x/onerror=alert(1)&gt;&amp;");
  });

  it("on files, plain and highlighted, and their blame", async () => {
    expectEscaped(await page(`blob/main/${enc(FILE)}`), `line &quot;two&quot; &amp; 'three'`, EVIL_ESCAPED);
    expectEscaped(await page(`blob/main/${enc(CODE)}`), EVIL_ESCAPED);
    expectEscaped(await page(`blame/main/${enc(FILE)}`), EVIL_ESCAPED, "Fix &lt;img");
  });

  it("on logs and commits", async () => {
    expectEscaped(await page("log/main"), `Fix ${EVIL_ESCAPED} &amp; &quot;quotes&quot;`);
    expectEscaped(await page(`log/main/${enc(FILE)}`), `Fix ${EVIL_ESCAPED}`);
    expectEscaped(await page(`commit/${oids.c2}`), `Body with ${EVIL_ESCAPED} &amp; more.`, `${EVIL_ESCAPED}.js`);
  });

  it("on branches, tags and comparisons", async () => {
    expectEscaped(await page("branches"), "x&quot;&#39;&lt;img/src=x/onerror=alert(1)&gt;&amp;");
    expectEscaped(await page("tags"), "t&quot;&lt;img/src=x/onerror=alert(2)&gt;&amp;");
    expectEscaped(await page(`compare/old...${enc(EVIL_BRANCH)}`), `Fix ${EVIL_ESCAPED}`, "&lt;img/src=x/onerror=alert(1)&gt;");
    expectEscaped(await page("compare"), "x&quot;&#39;&lt;img/src=x/onerror=alert(1)&gt;&amp;");
  });
});
