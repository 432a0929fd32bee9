// The operations page's one optional script (a static file: the CSP forbids inline scripts).
// Without it every bar is a link to its slice's log lines; with it, dragging across a chart opens
// the log lines of the dragged range.
import { staticPath } from "./style";

export const opsScript = `(function(){
"use strict";
var NS="http://www.w3.org/2000/svg";
document.querySelectorAll("svg.ops-chart").forEach(function(svg){
  var x0=+svg.getAttribute("data-x0"),x1=+svg.getAttribute("data-x1");
  var since=Date.parse(svg.getAttribute("data-since")),until=Date.parse(svg.getAttribute("data-until"));
  var start=null,sel=null,dragged=false;
  function xOf(e){var r=svg.getBoundingClientRect();var x=(e.clientX-r.left)*(svg.viewBox.baseVal.width/r.width);return Math.max(x0,Math.min(x1,x));}
  function timeOf(x){return Math.round(since+(x-x0)/(x1-x0)*(until-since));}
  svg.addEventListener("mousedown",function(e){
    if(e.button!==0)return;e.preventDefault();start=xOf(e);dragged=false;
    sel=document.createElementNS(NS,"rect");sel.setAttribute("class","ops-sel");
    sel.setAttribute("y","0");sel.setAttribute("height",String(svg.viewBox.baseVal.height-16));
    sel.setAttribute("x",String(start));sel.setAttribute("width","0");svg.appendChild(sel);
  });
  svg.addEventListener("mousemove",function(e){
    if(start===null)return;var x=xOf(e);
    sel.setAttribute("x",String(Math.min(start,x)));sel.setAttribute("width",String(Math.abs(x-start)));
  });
  window.addEventListener("mouseup",function(e){
    if(start===null)return;var x=xOf(e),a=Math.min(start,x),b=Math.max(start,x);start=null;
    if(b-a<4){sel.remove();return;}
    dragged=true;
    var q=new URLSearchParams({component:svg.getAttribute("data-component"),since:new Date(timeOf(a)).toISOString(),until:new Date(timeOf(b)).toISOString()});
    location.href="/admin/ops/logs?"+q.toString();
  });
  svg.addEventListener("click",function(e){if(dragged){e.preventDefault();dragged=false;}},true);
});
})();
`;

export const opsScriptPath = staticPath("ops", "js", opsScript);
