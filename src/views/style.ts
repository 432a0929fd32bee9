// The one stylesheet of the web UI: system fonts, light and dark schemes, usable at 320 px.
export const stylesheet = `
:root{color-scheme:light dark;--btn:#1f883d;--fg:#1f2328;--muted:#59636e;--bg:#fff;--bg2:#f6f8fa;--line:#d1d9e0;--link:#0550ae;--accent:#1a7f37;--warn:#9a6700;--err:#cf222e}
@media (prefers-color-scheme:dark){:root{--btn:#238636;--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--bg2:#151b23;--line:#3d444d;--link:#58a6ff;--accent:#3fb950;--warn:#d29922;--err:#f85149}}
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
nav.crumbs{font-size:14px;color:var(--muted);margin-left:-.6rem}nav.crumbs a{color:var(--muted)}nav.crumbs span::before{content:"›";margin:0 .4em}
main{max-width:1100px;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.2em 0 .6em}h2{font-size:1.15rem;margin:1.2em 0 .5em}
.muted{color:var(--muted)}
table.list{width:100%;border-collapse:collapse}
table.list th,table.list td{text-align:left;padding:.45em .6em;border-bottom:1px solid var(--line);vertical-align:top}
table.list th{font-weight:600;font-size:13px;color:var(--muted)}
.badge{display:inline-block;font-size:12px;padding:0 .5em;border:1px solid var(--line);border-radius:1em;color:var(--muted)}
nav.tracker{display:flex;flex-wrap:wrap;gap:.2rem;align-items:center;font-size:14px;border-bottom:1px solid var(--line);padding-bottom:.45rem;margin-bottom:.8rem}nav.tracker>a{padding:.2em .6em;border-radius:6px;color:var(--fg)}nav.tracker>a[aria-current=page]{background:var(--bg2);font-weight:600}nav.tracker form{margin-left:auto;display:flex;gap:.3rem}nav.tracker input{width:15rem;padding:.2em .5em}
.lbl{display:inline-block;font-size:12px;line-height:1.5;padding:0 .5em;margin:.1em .1em;border:1px solid var(--line);border-radius:1em;color:var(--fg);white-space:nowrap;background:var(--bg2)}.lbl span{color:var(--muted)}
.st{display:inline-block;font-size:12px;font-weight:600;padding:0 .55em;border-radius:1em;border:1px solid currentColor;white-space:nowrap}.st.open{color:var(--accent)}.st.closed{color:var(--muted)}a.closed{text-decoration:line-through}
.iss-head{display:flex;gap:1rem;align-items:baseline;flex-wrap:wrap}.iss-head .feed{font-size:13px;margin-left:auto}.filters{display:flex;gap:.4rem;flex-wrap:wrap;align-items:center;margin:0 0 .8rem;font-size:14px}.filters select,.filters input{width:auto;padding:.2em .4em}
table.issues td.num{width:1%;text-align:right;color:var(--muted)}.small{font-size:13px}.due{font-size:12px;color:var(--muted);white-space:nowrap}.due.over{color:var(--err);font-weight:600}p.snippet{margin:.2em 0 0;font-size:13px}mark{background:#fff3b0;color:inherit;border-radius:2px}
.iss-title{margin-bottom:.2em;overflow-wrap:anywhere}.iss-meta{margin-top:0;color:var(--muted);font-size:14px}.iss-cols{display:grid;grid-template-columns:minmax(0,1fr) 15rem;gap:1.5rem}.iss-side{font-size:14px}.iss-side h2{font-size:13px;color:var(--muted);margin:.9rem 0 .25rem}.iss-side p{margin:.2em 0}
.iss-c{border:1px solid var(--line);border-radius:6px;margin:0 0 .8rem}.iss-c>header{background:var(--bg2);border-bottom:1px solid var(--line);padding:.3em .8em;font-size:14px;border-radius:6px 6px 0 0}.iss-c>div{padding:.5em .8em;overflow-wrap:anywhere}.iss-c .md>:last-child{margin-bottom:0}
ul.changes{margin:.2em 0;padding-left:1.1em;font-size:13px;color:var(--muted)}ul.iss-files,ul.iss-rel{margin:.3em 0;padding-left:1.1em;font-size:14px}.iss-row{display:flex;gap:.8rem;flex-wrap:wrap;align-items:flex-start}input[type=date],input[type=search]{font:inherit;padding:.35em .55em;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg)}.iss-row input[type=date]{width:100%}.iss-row .field{flex:1;min-width:10rem}.iss-form{margin-top:1.2rem}.iss-form h2{margin:0}
.iss-summary{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1rem 2rem}.iss-summary td.num{text-align:right}.iss-pager{display:flex;gap:1rem;margin:1rem 0;font-size:14px}
@media (prefers-color-scheme:dark){mark{background:#5a4a0a}}@media (max-width:700px){.iss-cols{grid-template-columns:1fr}.iss-side{order:-1;display:flex;flex-wrap:wrap;gap:0 1.4rem;border-bottom:1px solid var(--line);padding-bottom:.6rem}.iss-side h2{margin:.5rem 0 .15rem}nav.tracker form{margin-left:0;width:100%}nav.tracker input{flex:1;width:auto}}
.clone{display:flex;gap:.5em;align-items:center;flex-wrap:wrap}
.clone input{flex:1;min-width:12em;font:inherit;font-family:ui-monospace,monospace;font-size:13px;padding:.3em .5em;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg)}
.notice{border:1px solid var(--line);border-left:4px solid var(--warn);padding:.8em 1em;border-radius:6px;background:var(--bg2)}
nav.account{margin-left:auto;display:flex;gap:.9em;align-items:center;font-size:14px}
form.inline{display:inline;margin:0}
button.link{font:inherit;background:none;border:0;padding:0;color:var(--link);cursor:pointer}button.link:hover{text-decoration:underline}
form.stack{display:grid;gap:.8rem;max-width:28rem}
form.stack.wide{max-width:42rem}
label,.label{font-weight:600;font-size:14px}
.field{display:grid;gap:.25rem}
.hint{font-size:13px;color:var(--muted);font-weight:400;margin:.4em 0 0}
input[type=text],input[type=email],input[type=password],input[type=file],input:not([type]),select,textarea{font:inherit;padding:.35em .55em;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg);width:100%}
textarea{min-height:8em;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
fieldset{border:1px solid var(--line);border-radius:6px;padding:.6rem .9rem;margin:0}legend{font-weight:600;font-size:14px;padding:0 .3em}
.check{display:flex;gap:.5em;align-items:center;font-weight:400}
button,.button{font:inherit;font-size:14px;padding:.35em .9em;border:1px solid var(--line);border-radius:6px;background:var(--bg2);color:var(--fg);cursor:pointer}
button.primary{background:var(--btn);border-color:var(--btn);color:#fff;font-weight:600}
button.danger{color:var(--err)}
button:hover{filter:brightness(.97)}
.actions{display:flex;gap:.5em;flex-wrap:wrap;align-items:center}
.notice.ok{border-left-color:var(--accent)}.notice.error{border-left-color:var(--err)}
.auth{max-width:24rem;margin:1.5rem auto}
.cols{display:grid;grid-template-columns:12rem 1fr;gap:1.5rem}
nav.side{display:flex;flex-direction:column;gap:.2em;font-size:14px}nav.side a{padding:.25em .5em;border-radius:6px;color:var(--fg)}nav.side a[aria-current=page]{background:var(--bg2);font-weight:600}
img.avatar{border-radius:6px;border:1px solid var(--line);vertical-align:middle;background:var(--bg2)}
.token{font-family:ui-monospace,monospace;font-size:13px;word-break:break-all;background:var(--bg2);border:1px solid var(--line);border-radius:6px;padding:.5em .7em}
.md>:first-child{margin-top:0}.md img{max-width:100%}.md table{border-collapse:collapse}.md th,.md td{border:1px solid var(--line);padding:.25em .5em}
.md blockquote{margin:0;padding:0 1em;color:var(--muted);border-left:3px solid var(--line)}
table.list button{font-size:13px;padding:.1em .6em}table.list td .actions{gap:.35em}
.access select{width:auto;min-width:11em;padding:.2em .4em}table.access td,table.access th{padding:.3em .6em;vertical-align:middle}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.srcbar{display:flex;gap:.5rem 1rem;align-items:center;flex-wrap:wrap;margin-bottom:.7rem}.refsel{display:flex;gap:.3rem}.refsel select{width:auto;max-width:15rem;padding:.2em .4em}
nav.tabs{display:flex;flex-wrap:wrap;gap:.15rem;font-size:14px}nav.tabs a{padding:.2em .6em;border-radius:6px;color:var(--fg)}nav.tabs a[aria-current=page]{background:var(--bg2);font-weight:600}
.pathbar,.fileinfo{display:flex;gap:.3rem 1rem;align-items:baseline;flex-wrap:wrap;margin:.2rem 0 .6rem}.pathbar h1{margin:0}nav.path{font-size:1.05rem;overflow-wrap:anywhere}nav.path span{margin:0 .3em;color:var(--muted)}
.links{font-size:14px;margin-left:auto}.nowrap{white-space:nowrap}.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}.add{color:var(--accent)}.del{color:var(--err)}
.tip{font-size:14px;padding:.4em .6em;border:1px solid var(--line);border-radius:6px 6px 0 0;background:var(--bg2);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.tip+table.list{border:1px solid var(--line);border-top:0}table.list td.msg,table.files td.lcm{overflow-wrap:anywhere}table.files td.pending{color:var(--muted)}
.code,.diff{border-collapse:collapse;width:100%;font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:6px}
.code td,.diff td{padding:0 .6em;vertical-align:top;white-space:pre}td.ln{width:1%;text-align:right;color:var(--muted);user-select:none}td.ln a{color:inherit}td.bl{width:1%;font-size:12px;border-right:1px solid var(--line)}tr.bstart td{border-top:1px solid var(--line)}
.code tr:target td,.code tr.hl td{background:#fff8c5}.diff tr.add td{background:#e6ffec}.diff tr.del td{background:#ffebe9}.diff tr.hh td{background:var(--bg2);color:var(--muted)}
.code .c{color:var(--muted);font-style:italic}.code .s{color:#0a3069}.code .n{color:#0550ae}.code .k{color:#cf222e}.code .b{color:#8250df}.code .t{color:#116329}
@media (prefers-color-scheme:dark){.code tr:target td,.code tr.hl td{background:#3b2e0a}.diff tr.add td{background:#12261e}.diff tr.del td{background:#2d1214}.code .s{color:#a5d6ff}.code .n{color:#79c0ff}.code .k{color:#ff7b72}.code .b{color:#d2a8ff}.code .t{color:#7ee787}}
.fdiff h3{font-size:14px;font-weight:600;margin:1.2rem 0 .3rem;overflow-wrap:anywhere}dl.meta{display:grid;gap:.15rem;font-size:14px;margin:.5rem 0}dl.meta div{display:flex;gap:.6rem}dl.meta dt{min-width:6rem;color:var(--muted)}dl.meta dd{margin:0;overflow-wrap:anywhere}
pre.message{background:none;border:0;padding:0;white-space:pre-wrap}.readme{border:1px solid var(--line);border-radius:6px;padding:.2rem 1rem;margin-top:1rem}.readme h2{font-size:14px}.pager{display:flex;gap:1rem;margin:1rem 0}.image img{max-width:100%}
form.compare{display:flex;gap:.5rem;align-items:center;flex-wrap:wrap}form.compare select{width:auto}table.changes td.chg{width:1%;white-space:nowrap;color:var(--muted);font-size:13px}table.changes td{padding:.2em .6em}
footer.site{max-width:1100px;margin:2rem auto;padding:0 1rem;color:var(--muted);font-size:13px}
@media (max-width:600px){main{padding:.75rem}table.list th.opt,table.list td.opt{display:none}.cols{grid-template-columns:1fr;gap:.75rem}nav.side{flex-direction:row;flex-wrap:wrap}}
`;

/**
 * The URL of a static asset, named by the FNV-1a hash of its content so that it changes whenever
 * the content does and can be cached forever.
 */
export function staticPath(name: string, ext: string, content: string): string {
  return `/static/${name}.${fnv1a(content)}.${ext}`;
}

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

export const stylesheetPath = staticPath("style", "css", stylesheet);
