// Small static files every page links: the favicon and the page script (the copy button of
// clone URLs). Named by a hash of their content (views/style.ts), so they are cached for a year.
import { staticPath } from "./style";

/** An anvil-ish mark in the forge's accent colour; readable at 16 px in light and dark tabs. */
export const favicon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f5fbf"/><path d="M6 11h20v4h-5l3 6H8l3-6H6z" fill="#fff"/><rect x="9" y="23" width="14" height="3" rx="1" fill="#fff"/></svg>`;

export const faviconPath = staticPath("favicon", "svg", favicon);

/**
 * Copies the text of the input named by a button's data-copy (the clone URL). Without script the
 * button stays hidden and the read-only input can be selected and copied by hand.
 */
export const pageScript = `(function(){
"use strict";
document.querySelectorAll("button[data-copy]").forEach(function(b){
  var input=document.getElementById(b.getAttribute("data-copy"));
  if(!input||!navigator.clipboard)return;
  b.hidden=false;
  b.addEventListener("click",function(){
    navigator.clipboard.writeText(input.value).then(function(){b.textContent="Copied";setTimeout(function(){b.textContent="Copy";},1500);},function(){input.select();});
  });
});
})();
`;

export const pageScriptPath = staticPath("page", "js", pageScript);

/** The static files above by path, with their content type. */
export const staticAssets: ReadonlyMap<string, { body: string; type: string }> = new Map([
  [faviconPath, { body: favicon, type: "image/svg+xml" }],
  [pageScriptPath, { body: pageScript, type: "text/javascript; charset=utf-8" }],
]);
