// The source pages' one optional script (served as a static file: the CSP forbids inline
// scripts). Everything works without it; it adds line-range selection (#L10-L20), a filter box
// and arrow keys to the ref selector, and fills in last commits that were still being computed.
import { staticPath } from "./style";

export const sourceScript = `(function(){
"use strict";
function rows(){return document.querySelectorAll("table.code tr[id^=L]");}
function mark(){
  var m=/^#L(\\d+)(?:-L(\\d+))?$/.exec(location.hash);
  document.querySelectorAll("tr.hl").forEach(function(r){r.classList.remove("hl");});
  if(!m)return;
  var a=+m[1],b=m[2]?+m[2]:a;if(b<a){var t=a;a=b;b=t;}
  for(var i=a;i<=b;i++){var r=document.getElementById("L"+i);if(r)r.classList.add("hl");}
  var first=document.getElementById("L"+a);if(first&&m[2])first.scrollIntoView({block:"center"});
}
var anchor=null;
document.addEventListener("click",function(e){
  var a=e.target.closest&&e.target.closest("table.code td.ln a");
  if(!a)return;
  var n=+a.getAttribute("href").slice(2);
  if(e.shiftKey&&anchor){e.preventDefault();var lo=Math.min(anchor,n),hi=Math.max(anchor,n);history.replaceState(null,"","#L"+lo+"-L"+hi);mark();}
  else{anchor=n;}
});
window.addEventListener("hashchange",mark);
if(rows().length)mark();
document.querySelectorAll("details.refsel").forEach(function(d){
  var input=d.querySelector("input.reffilter");if(!input)return;
  input.hidden=false;
  input.setAttribute("role","combobox");input.setAttribute("aria-autocomplete","list");
  var links=[].slice.call(d.querySelectorAll(".reflist a")),active=null;
  d.querySelectorAll(".reflist").forEach(function(u,i){u.id="reflist-"+i;u.setAttribute("role","listbox");});
  input.setAttribute("aria-controls","reflist-0");
  links.forEach(function(a,i){a.id="refopt-"+i;a.setAttribute("role","option");a.tabIndex=-1;});
  var shown=function(){return links.filter(function(a){return !a.parentNode.hidden;});};
  var pick=function(a){
    if(active){active.classList.remove("active");active.removeAttribute("aria-selected");}
    active=a;
    if(a){a.classList.add("active");a.setAttribute("aria-selected","true");a.scrollIntoView({block:"nearest"});input.setAttribute("aria-activedescendant",a.id);}
    else input.removeAttribute("aria-activedescendant");
  };
  input.addEventListener("input",function(){
    var q=input.value.toLowerCase();
    links.forEach(function(a){a.parentNode.hidden=a.textContent.toLowerCase().indexOf(q)<0;});
    d.querySelectorAll(".reflist").forEach(function(u){
      var any=[].some.call(u.children,function(li){return !li.hidden;});
      u.hidden=!any;var g=u.previousElementSibling;if(g&&g.classList.contains("group"))g.hidden=!any;
    });
    pick(null);
  });
  input.addEventListener("keydown",function(e){
    var v=shown(),i=v.indexOf(active);
    if(e.key==="ArrowDown"){e.preventDefault();if(v.length)pick(v[(i+1)%v.length]);}
    else if(e.key==="ArrowUp"){e.preventDefault();if(v.length)pick(v[i<=0?v.length-1:i-1]);}
    else if(e.key==="Enter"){e.preventDefault();var go=active||(v.length===1?v[0]:null);if(go)location.href=go.href;}
    else if(e.key==="Escape"){d.open=false;d.querySelector("summary").focus();}
  });
  d.addEventListener("toggle",function(){if(d.open){input.focus();input.select();}});
  document.addEventListener("click",function(e){if(d.open&&!d.contains(e.target))d.open=false;});
});
var lc=document.querySelector("[data-last-commits]");
if(lc){
  var url=lc.getAttribute("data-last-commits"),tries=0;
  var fill=function(d){
    Object.keys(d.entries).forEach(function(name){
      var e=d.entries[name];
      document.querySelectorAll("tr[data-entry]").forEach(function(tr){
        if(tr.getAttribute("data-entry")!==name)return;
        var c=tr.querySelector("td.lcm"),t=tr.querySelector("td.lcd");
        if(!c||!c.classList.contains("pending"))return;
        c.classList.remove("pending");c.textContent="";
        var a=document.createElement("a");a.href=e.href;a.textContent=e.s;c.appendChild(a);
        if(t){var tm=document.createElement("time");tm.dateTime=e.iso;tm.textContent=e.date;t.textContent="";t.appendChild(tm);}
      });
    });
  };
  var poll=function(){
    fetch(url,{headers:{accept:"application/json"}}).then(function(r){return r.ok?r.json():null;}).then(function(d){
      if(!d)return;fill(d);
      if(d.complete){var n=document.querySelector(".computing");if(n)n.hidden=true;}
      else if(++tries<20)setTimeout(poll,1500);
    }).catch(function(){});
  };
  setTimeout(poll,800);
}
})();
`;

export const sourceScriptPath = staticPath("source", "js", sourceScript);
