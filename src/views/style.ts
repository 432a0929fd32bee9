// The one stylesheet of the web UI: system fonts, light and dark schemes, usable at 320 px.
export const stylesheet = `
:root{color-scheme:light dark;--fg:#1f2328;--muted:#59636e;--bg:#fff;--bg2:#f6f8fa;--line:#d1d9e0;--link:#0550ae;--accent:#1a7f37;--warn:#9a6700;--err:#cf222e}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--bg2:#151b23;--line:#3d444d;--link:#58a6ff;--accent:#3fb950;--warn:#d29922;--err:#f85149}}
*{box-sizing:border-box}
html{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
body{margin:0}
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
:focus-visible{outline:2px solid var(--link);outline-offset:2px}
code,pre,kbd,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
pre{background:var(--bg2);border:1px solid var(--line);border-radius:6px;padding:.6em .8em;overflow:auto}
header.site{border-bottom:1px solid var(--line);background:var(--bg2)}
header.site .bar{max-width:1100px;margin:0 auto;padding:.5rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
header.site .brand{font-weight:600;color:var(--fg)}
nav.crumbs{font-size:14px;color:var(--muted)}nav.crumbs a{color:var(--muted)}nav.crumbs span+span::before{content:"›";margin:0 .4em}
main{max-width:1100px;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.2em 0 .6em}h2{font-size:1.15rem;margin:1.2em 0 .5em}
.muted{color:var(--muted)}
table.list{width:100%;border-collapse:collapse}
table.list th,table.list td{text-align:left;padding:.45em .6em;border-bottom:1px solid var(--line);vertical-align:top}
table.list th{font-weight:600;font-size:13px;color:var(--muted)}
.badge{display:inline-block;font-size:12px;padding:0 .5em;border:1px solid var(--line);border-radius:1em;color:var(--muted)}
.clone{display:flex;gap:.5em;align-items:center;flex-wrap:wrap}
.clone input{flex:1;min-width:12em;font:inherit;font-family:ui-monospace,monospace;font-size:13px;padding:.3em .5em;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg)}
.notice{border:1px solid var(--line);border-left:4px solid var(--warn);padding:.8em 1em;border-radius:6px;background:var(--bg2)}
footer.site{max-width:1100px;margin:2rem auto;padding:0 1rem;color:var(--muted);font-size:13px}
@media (max-width:600px){main{padding:.75rem}table.list th.opt,table.list td.opt{display:none}}
`;

/** FNV-1a of the stylesheet, so its URL changes whenever it does and can be cached forever. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

export const stylesheetPath = `/static/style.${fnv1a(stylesheet)}.css`;
