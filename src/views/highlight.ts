// Server-side syntax highlighting: one small regex lexer per family of languages (comments,
// strings, numbers, keywords), enough to make code readable without shipping a grammar engine.
// Output is escaped HTML, one string per line, with spans that never cross a line.
import { Pacer, runAtOnce, runPaced, type Sliced } from "../utils/pace";
import { escapedByRenderer, type TrustedHtml } from "./trusted-html";

/** Files up to this size are highlighted; bigger ones are shown as plain text. */
export const HIGHLIGHT_MAX = 256 * 1024;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;"));
}

interface Lang {
  /** One regex of every token kind, each in a named group: c (comment), s (string), n (number), w (word), t (tag). */
  re: RegExp;
  keywords: Set<string>;
  /** Words that name types and constants. */
  builtins?: Set<string>;
}

const words = (s: string) => new Set(s.split(/\s+/).filter(Boolean));

const NUM = String.raw`(?<n>\b(?:0[xX][\da-fA-F_]+|0[bB][01_]+|\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)[a-zA-Z]*\b)`;
const WORD = String.raw`(?<w>[A-Za-z_$][\w$]*)`;
const DQ = String.raw`"(?:[^"\\\n]|\\.)*"?`;
const SQ = String.raw`'(?:[^'\\\n]|\\.)*'?`;
const BT = String.raw`\`(?:[^\`\\]|\\[\s\S])*\`?`;
const SLASH_COMMENTS = String.raw`(?<c>//[^\n]*|/\*[\s\S]*?(?:\*/|(?![\s\S])))`;
const HASH_COMMENT = String.raw`(?<c>#[^\n]*)`;

const lex = (...parts: string[]) => new RegExp(parts.join("|"), "g");

const JS_KEYWORDS = words(`break case catch class const continue debugger default delete do else export extends finally for
  function if import in instanceof let new return super switch this throw try typeof var void while with yield async await
  of static get set from as enum implements interface package private protected public readonly type namespace declare
  abstract keyof infer is satisfies`);
const JS_BUILTINS = words(`true false null undefined NaN Infinity string number boolean any unknown never object symbol bigint
  void Array Object String Number Boolean Promise Map Set Date RegExp Error JSON Math console`);

const C_KEYWORDS = words(`auto break case char const continue default do double else enum extern float for goto if inline int
  long register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while class
  namespace template typename public private protected virtual override new delete this throw try catch using operator
  friend bool true false nullptr constexpr noexcept static_cast dynamic_cast reinterpret_cast const_cast explicit mutable
  import package extends implements interface final abstract synchronized throws instanceof super boolean byte null var
  func go defer chan map range select fallthrough type struct fn let mut impl trait pub use mod crate self Self match loop
  where as ref move unsafe dyn async await val fun when object companion data sealed internal lateinit is in out`);

const PY_KEYWORDS = words(`False None True and as assert async await break class continue def del elif else except finally for
  from global if import in is lambda nonlocal not or pass raise return try while with yield match case self print`);
const RB_KEYWORDS = words(`BEGIN END alias and begin break case class def defined? do else elsif end ensure false for if in module
  next nil not or redo rescue retry return self super then true undef unless until when while yield require attr_accessor`);
const SH_KEYWORDS = words(`if then else elif fi case esac for while until do done in function return exit export local readonly
  echo set unset shift source alias cd test true false`);
const SQL_KEYWORDS = words(`select from where insert into values update set delete create table index view drop alter add column
  primary key foreign references not null unique default and or in is like join left right inner outer on group by order
  having limit offset as distinct union all case when then else end begin commit rollback transaction integer text real
  blob SELECT FROM WHERE INSERT INTO VALUES UPDATE SET DELETE CREATE TABLE INDEX VIEW DROP ALTER ADD COLUMN PRIMARY KEY
  FOREIGN REFERENCES NOT NULL UNIQUE DEFAULT AND OR IN IS LIKE JOIN LEFT RIGHT INNER OUTER ON GROUP BY ORDER HAVING LIMIT
  OFFSET AS DISTINCT UNION ALL CASE WHEN THEN ELSE END BEGIN COMMIT ROLLBACK INTEGER TEXT REAL BLOB`);
const CSS_KEYWORDS = words(`important media import supports keyframes font-face from to and not only screen print`);
const YAML_KEYWORDS = words(`true false null yes no on off True False Null`);

const LANGS: Record<string, Lang> = {
  js: { re: lex(SLASH_COMMENTS, `(?<s>${DQ}|${SQ}|${BT})`, NUM, WORD), keywords: JS_KEYWORDS, builtins: JS_BUILTINS },
  c: { re: lex(SLASH_COMMENTS, `(?<s>${DQ}|'(?:[^'\\\\\\n]|\\\\.){1,4}'|${BT})`, NUM, WORD), keywords: C_KEYWORDS },
  py: {
    re: lex(
      HASH_COMMENT,
      String.raw`(?<s>[rbfuRBFU]{0,2}(?:"""[\s\S]*?(?:"""|(?![\s\S]))|'''[\s\S]*?(?:'''|(?![\s\S]))|${DQ}|${SQ}))`,
      NUM,
      WORD,
    ),
    keywords: PY_KEYWORDS,
  },
  rb: { re: lex(HASH_COMMENT, `(?<s>${DQ}|${SQ})`, NUM, WORD), keywords: RB_KEYWORDS },
  sh: { re: lex(HASH_COMMENT, `(?<s>${DQ}|${SQ})`, NUM, WORD), keywords: SH_KEYWORDS },
  yaml: {
    re: lex(HASH_COMMENT, `(?<s>${DQ}|${SQ})`, NUM, String.raw`(?<t>^[ \t-]*[\w.-]+(?=:))`, WORD),
    keywords: YAML_KEYWORDS,
  },
  sql: {
    re: lex(String.raw`(?<c>--[^\n]*|/\*[\s\S]*?(?:\*/|(?![\s\S])))`, `(?<s>${SQ}|${DQ})`, NUM, WORD),
    keywords: SQL_KEYWORDS,
  },
  css: {
    re: lex(
      String.raw`(?<c>/\*[\s\S]*?(?:\*/|(?![\s\S])))`,
      `(?<s>${DQ}|${SQ})`,
      String.raw`(?<n>#[\da-fA-F]{3,8}\b|\b\d+(?:\.\d+)?(?:px|em|rem|%|vh|vw|s|ms|deg)?\b)`,
      String.raw`(?<w>@?[A-Za-z_-][\w-]*)`,
    ),
    keywords: CSS_KEYWORDS,
  },
  html: {
    re: lex(String.raw`(?<c><!--[\s\S]*?(?:-->|(?![\s\S])))`, String.raw`(?<t></?[A-Za-z][\w:-]*|/?>)`, `(?<s>${DQ}|${SQ})`),
    keywords: new Set(),
  },
  json: { re: lex(`(?<s>${DQ})`, NUM, WORD), keywords: words("true false null") },
  md: { re: lex(String.raw`(?<t>^#{1,6} [^\n]*)`, String.raw`(?<s>\`[^\`\n]+\`)`), keywords: new Set() },
  diff: { re: lex(String.raw`(?<t>^@@[^\n]*)`, String.raw`(?<n>^\+[^\n]*)`, String.raw`(?<c>^-[^\n]*)`), keywords: new Set() },
};
for (const l of Object.values(LANGS)) l.re = new RegExp(l.re.source, "gm");

const EXTENSIONS: Record<string, string> = {
  js: "js",
  mjs: "js",
  cjs: "js",
  jsx: "js",
  ts: "js",
  tsx: "js",
  mts: "js",
  cts: "js",
  c: "c",
  h: "c",
  cc: "c",
  cpp: "c",
  cxx: "c",
  hpp: "c",
  hh: "c",
  m: "c",
  java: "c",
  cs: "c",
  go: "c",
  rs: "c",
  swift: "c",
  kt: "c",
  kts: "c",
  scala: "c",
  php: "c",
  dart: "c",
  zig: "c",
  groovy: "c",
  gradle: "c",
  proto: "c",
  py: "py",
  pyi: "py",
  rb: "rb",
  rake: "rb",
  gemspec: "rb",
  sh: "sh",
  bash: "sh",
  zsh: "sh",
  fish: "sh",
  ksh: "sh",
  mk: "sh",
  pl: "sh",
  pm: "sh",
  r: "sh",
  toml: "sh",
  ini: "sh",
  cfg: "sh",
  conf: "sh",
  properties: "sh",
  yml: "yaml",
  yaml: "yaml",
  sql: "sql",
  lua: "sql",
  css: "css",
  scss: "css",
  less: "css",
  html: "html",
  htm: "html",
  xml: "html",
  svg: "html",
  vue: "html",
  svelte: "html",
  xhtml: "html",
  plist: "html",
  json: "json",
  jsonc: "c",
  json5: "js",
  webmanifest: "json",
  md: "md",
  markdown: "md",
  mdx: "md",
  diff: "diff",
  patch: "diff",
};
const FILENAMES: Record<string, string> = {
  Makefile: "sh",
  makefile: "sh",
  GNUmakefile: "sh",
  Dockerfile: "sh",
  Rakefile: "rb",
  Gemfile: "rb",
  ".bashrc": "sh",
  ".profile": "sh",
  ".gitignore": "sh",
  ".npmignore": "sh",
  ".editorconfig": "sh",
  ".gitattributes": "sh",
  "CMakeLists.txt": "sh",
  Jenkinsfile: "c",
  ".travis.yml": "yaml",
};

/** The language family of a file name, or null for plain text. */
export function languageOf(name: string): string | null {
  if (FILENAMES[name]) return FILENAMES[name]!;
  const dot = name.lastIndexOf(".");
  if (dot < 0) return null;
  return EXTENSIONS[name.slice(dot + 1).toLowerCase()] ?? null;
}

/** Token classes: one letter each (code pages repeat them thousands of times). */
const CLASS: Record<string, string> = { c: "c", s: "s", n: "n", t: "t", k: "k", b: "b" };

/**
 * Input lexed between two turns of a paced highlight: a 256 KiB file takes tens of milliseconds
 * to highlight, and locally one workerd thread runs every page, so a page that highlights it in
 * one go holds every other page for that long (issue 19, bench/scale-results.md).
 */
export const HIGHLIGHT_SLICE = 16 * 1024;
/** How often the lexer reports its progress to the pacer (characters). */
const REPORT_EVERY = 1024;

/** highlightLines for a page: each line branded as escaped markup (views/trusted-html.ts). */
export function highlightedLines(text: string, lang: string | null): TrustedHtml[] {
  return highlightLines(text, lang).map(escapedByRenderer);
}

/**
 * highlightedLines that gives way to the isolate's other tasks every `pacer` slice (by default
 * HIGHLIGHT_SLICE characters): for pages that show a whole file. Same result.
 */
export async function highlightedLinesPaced(
  text: string,
  lang: string | null,
  pacer = new Pacer(Number.POSITIVE_INFINITY, HIGHLIGHT_SLICE),
): Promise<TrustedHtml[]> {
  return (await runPaced(lexLines(text, lang), pacer)).map(escapedByRenderer);
}

/** Escaped HTML of each line; with a language, tokens wrapped in spans. */
export function highlightLines(text: string, lang: string | null): string[] {
  return runAtOnce(lexLines(text, lang));
}

/** The lexer, as sliced work: reports every REPORT_EVERY characters lexed (utils/pace.ts). */
function* lexLines(text: string, lang: string | null): Sliced<string[]> {
  const spec = lang ? LANGS[lang] : undefined;
  let reported = 0;
  if (!spec) {
    const out: string[] = [];
    for (const line of text.split("\n")) {
      out.push(escapeHtml(line));
      reported += line.length + 1;
      if (reported >= REPORT_EVERY) {
        yield { steps: 0, bytes: reported };
        reported = 0;
      }
    }
    return out;
  }
  const lines: string[] = [];
  let current = "";
  const emit = (s: string, cls: string | null) => {
    const parts = s.split("\n");
    parts.forEach((p, i) => {
      if (i > 0) {
        lines.push(current);
        current = "";
      }
      if (p) current += cls ? `<span class=${cls}>${escapeHtml(p)}</span>` : escapeHtml(p);
    });
  };
  // A regex of its own: a paced caller may be interleaved with another highlight of the language.
  const re = new RegExp(spec.re.source, spec.re.flags);
  let pos = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0] === "") {
      re.lastIndex++;
      continue;
    }
    if (m.index > pos) emit(text.slice(pos, m.index), null);
    const g = m.groups!;
    let cls: string | null = null;
    if (g.c !== undefined) cls = CLASS.c!;
    else if (g.s !== undefined) cls = CLASS.s!;
    else if (g.n !== undefined) cls = CLASS.n!;
    else if (g.t !== undefined) cls = CLASS.t!;
    else if (g.w !== undefined) cls = spec.keywords.has(g.w) ? CLASS.k! : spec.builtins?.has(g.w) ? CLASS.b! : null;
    emit(m[0], cls);
    const end = m.index + m[0].length;
    reported += end - pos;
    pos = end;
    if (reported >= REPORT_EVERY) {
      yield { steps: 0, bytes: reported };
      reported = 0;
    }
  }
  if (pos < text.length) emit(text.slice(pos), null);
  lines.push(current);
  return lines;
}
