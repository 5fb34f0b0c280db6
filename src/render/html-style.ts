/** The HTML view's inline style and script (their hashes go in the page's Content-Security-Policy). */

export const CSS = `
:root{color-scheme:light dark;--bg:#fbfbfa;--fg:#1c1d1f;--muted:#5d6168;--line:#d5d7db;--panel:#fff;--panel2:#f1f2f4;
--req:#1f5fd6;--rep:#b84a0e;--rw-bg:#ffe58a;--rw-fg:#3b2a00;--old:#8a3a3a;--good:#1b7a3a;--bad:#b3261e;--ns:#eef3fb;--node:#f7f7f8;--root:#e8ecf2;--focus:#7a4cff}
@media (prefers-color-scheme:dark){:root{--bg:#16181c;--fg:#e6e7ea;--muted:#a1a6b0;--line:#3a3e46;--panel:#1e2127;--panel2:#262a31;
--req:#6ea8ff;--rep:#ff9a5c;--rw-bg:#6b5200;--rw-fg:#fff3c4;--old:#f08a8a;--good:#5fd38a;--bad:#ff8078;--ns:#1f2a3a;--node:#1b1e23;--root:#2a313c;--focus:#b69cff}}
*{box-sizing:border-box}
html{background:var(--bg);color:var(--fg)}
body{margin:0 auto;max-width:1200px;padding:1.25rem 1.25rem 3rem;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
code,.mono,.steps,.diagram text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
code{font-size:.92em}
h1{font-size:1.45rem;margin:.2rem 0 .4rem;overflow-wrap:anywhere}
h2{font-size:1.1rem;margin:1.8rem 0 .5rem;overflow-wrap:anywhere}
h3{font-size:1rem;margin:.8rem 0 .3rem}
.muted{color:var(--muted)}
[hidden]{display:none!important}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
a{color:var(--req)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.meta{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;margin:.2rem 0 .8rem;color:var(--muted)}
.meta dt{display:inline;font-weight:600}.meta dd{display:inline;margin:0 0 0 .3rem}
.fates{display:grid;gap:.35rem;margin:.4rem 0 1rem}
.fate{padding:.45rem .7rem;border-radius:8px;background:var(--panel);border:1px solid var(--line);border-left:6px solid var(--muted);overflow-wrap:anywhere}
.fate.delivered{border-left-color:var(--good)}.fate.dropped,.fate.rejected{border-left-color:var(--bad)}
.fate .lbl{font-weight:700;text-transform:uppercase;font-size:.75rem;letter-spacing:.05em;margin-right:.4rem}
.fate.delivered .disp{color:var(--good)}.fate.dropped .disp,.fate.rejected .disp{color:var(--bad)}
figure{margin:0;padding:.6rem;background:var(--panel);border:1px solid var(--line);border-radius:10px;overflow-x:auto}
.drawing{display:flex;flex-wrap:wrap;gap:1rem 2rem;align-items:flex-start}
.drawing svg{flex:0 1 auto;min-width:0}
@media (min-width:900px){.drawing{flex-wrap:nowrap}}
figcaption{font-size:.85rem;color:var(--muted);margin:.2rem .2rem .4rem}
figcaption label{margin-left:1rem;white-space:nowrap}
.diagram{display:block;max-width:100%;height:auto}
.diagram text{font-size:13px;fill:var(--fg)}
.diagram .title{font-weight:700;font-size:14px}
.diagram .role,.diagram .ip{fill:var(--muted)}
.diagram .k{fill:var(--muted)}
.diagram .old{fill:var(--old);text-decoration:line-through}
.diagram .new{fill:var(--fg);font-weight:700}
.diagram .why{fill:var(--muted);font-style:italic}
.diagram .host rect{fill:var(--panel);stroke:var(--muted);stroke-width:1.2}
.diagram .node rect.frame{fill:var(--node);stroke:var(--line);stroke-width:1.5}
.diagram .ns rect{fill:var(--ns);stroke:var(--line);stroke-dasharray:4 3}
.diagram .root rect{fill:var(--root)}
.diagram .router rect{fill:var(--panel2)}
.diagram .external rect{fill:var(--panel2);stroke-dasharray:6 3}
.diagram .band line{stroke:var(--muted);stroke-width:3;stroke-linecap:round;opacity:.5}
.diagram .arrow .line{fill:none;stroke-width:2.2}
.diagram .arrow .hit{fill:none;stroke:transparent;stroke-width:12}
.diagram .arrow.request .line,.diagram .legend.request line{stroke:var(--req)}
.diagram .arrow.reply .line,.diagram .legend.reply line{stroke:var(--rep)}
.diagram .legend line{stroke-width:2.2}
.diagram .arrow.reply .line{stroke-dasharray:7 4}
.diagram .legend.reply line{stroke-dasharray:7 4}
.diagram .head.request{fill:var(--req)}.diagram .head.reply{fill:var(--rep)}
.diagram .badge circle{stroke:var(--panel);stroke-width:2}
.diagram .badge.request circle{fill:var(--req)}.diagram .badge.reply circle{fill:var(--rep)}
.diagram .badge text{fill:#fff;font-weight:700;font-size:11px}
.diagram .death circle{fill:var(--bad)}.diagram .death path{stroke:#fff;stroke-width:2.4;stroke-linecap:round}
.diagram .arrow:hover .line,.diagram .arrow:focus .line,.diagram .arrow.hl .line{stroke-width:4.5}
.diagram .arrow:focus{outline:none}.diagram .arrow:focus-visible .hit{stroke:var(--focus);stroke-opacity:.35}
.diagram .entry.hl .name{text-decoration:underline}
.diagram .entry.end .name{font-weight:700}
.diagram .entry.end.bad .name{fill:var(--bad)}
.hide-request .arrow.request,.hide-request .badges .request,.hide-reply .arrow.reply,.hide-reply .badges .reply{display:none}
.tools{margin:.2rem 0 .5rem}
button{font:inherit;font-size:.85rem;padding:.2rem .6rem;border-radius:6px;border:1px solid var(--line);background:var(--panel);color:var(--fg);cursor:pointer}
button:hover{background:var(--panel2)}
ol.hops{list-style:none;margin:0;padding:0}
.hop{margin:.35rem 0;border:1px solid var(--line);border-radius:8px;background:var(--panel)}
.hop.flash{box-shadow:0 0 0 3px var(--focus)}
.leg.request .hop{border-left:5px solid var(--req)}.leg.reply .hop{border-left:5px solid var(--rep)}
.hop>details>summary{padding:.45rem .6rem;cursor:pointer;overflow-wrap:anywhere}
.hop .host{font-weight:700}
.role{color:var(--muted);font-size:.8rem}
.badge{display:inline-block;min-width:1.4rem;text-align:center;border-radius:1rem;color:#fff;font-weight:700;font-size:.8rem;padding:0 .35rem}
.badge.request{background:var(--req)}.badge.reply{background:var(--rep)}
.addr{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em;margin-left:.4rem}
.k{color:var(--muted)}
.old{color:var(--old);text-decoration:line-through}
.new,.rw .body .sum{background:var(--rw-bg);color:var(--rw-fg);border-radius:3px;padding:0 .15rem}
.why{font-style:italic;color:var(--muted)}
.chip{display:inline-block;font-size:.78rem;padding:0 .4rem;border-radius:.6rem;background:var(--panel2);border:1px solid var(--line);font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.chip.good{color:var(--good)}.chip.bad{color:var(--bad)}
.hopbody{padding:0 .6rem .6rem}
ol.steps{list-style:none;margin:0;padding:0;font-size:.82rem}
.step{display:grid;grid-template-columns:3.2rem 5.6rem 1fr;gap:.5rem;padding:.18rem 0;border-top:1px dashed var(--line)}
.step .n{color:var(--muted)}
.step .kind{font-weight:700;text-transform:uppercase;font-size:.72rem;letter-spacing:.04em;padding-top:.1rem}
.step .body{overflow-wrap:anywhere;min-width:0}
.step .body>span{display:block}
.step .body .chip,.step .body .loc{display:inline-block}
.d1 .body{padding-left:1rem}.d2 .body{padding-left:2rem}.d3 .body{padding-left:3rem}.d4 .body{padding-left:4rem}.d5 .body,.d6 .body{padding-left:5rem}
.k-hook .body{font-weight:700}
.k-rule .kind{color:var(--req)}.k-nat .kind,.k-encap .kind,.k-decap .kind{color:var(--rep)}
.k-drop .kind,.k-drop .sum{color:var(--bad)}.k-socket .kind{color:var(--good)}
.k-policy .kind,.k-note .kind,.k-arp .kind,.k-bridge .kind,.k-transmit .kind,.k-receive .kind{color:var(--muted)}
.loc{color:var(--muted);font-size:.9em}
code.rule{display:block;white-space:pre-wrap}
.match,.pkt,.ba{color:var(--muted)}
.lbl{display:inline-block;min-width:3.2rem;color:var(--muted)}
details.side{margin:.25rem 0 .25rem 1rem;border-left:2px solid var(--line);padding-left:.5rem}
details.side>summary{cursor:pointer;color:var(--muted);font-size:.82rem}
.outcome{font-weight:500;overflow-wrap:anywhere}
.outcome.delivered strong{color:var(--good)}.outcome.dropped strong,.outcome.rejected strong{color:var(--bad)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.85rem;background:var(--panel)}
caption{text-align:left;color:var(--muted);padding:.3rem 0}
th,td{border:1px solid var(--line);padding:.3rem .45rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:var(--panel2);white-space:nowrap}
table.rw td:nth-child(-n+3),table.rw td:nth-child(5){white-space:nowrap;overflow-wrap:normal}
fieldset.alts{border:1px solid var(--line);border-radius:8px;display:flex;flex-wrap:wrap;gap:.3rem 1.2rem}
fieldset.alts label{cursor:pointer}
.p{font-weight:700}
.alt-panel{margin-top:.5rem}
.diags .error strong{color:var(--bad)}
pre.explain{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:.5rem .7rem;font-size:.82rem;white-space:pre-wrap;overflow-wrap:anywhere}
footer{margin-top:2rem;color:var(--muted);font-size:.8rem}
@media print{
:root{--bg:#fff;--fg:#000;--panel:#fff;--panel2:#f3f3f3;--muted:#444;--line:#bbb;--node:#fafafa;--ns:#f2f6fc;--root:#eef1f5;--rw-bg:#ffe58a;--rw-fg:#000;--req:#1f5fd6;--rep:#b84a0e}
body{max-width:none;padding:0;font-size:11pt}
.tools,figcaption label{display:none}
.alt-panel[hidden]{display:block!important}
.hop,tr,figure{break-inside:avoid}
a{color:inherit;text-decoration:none}
}
`;

/**
 * The trace view's behaviour, shared by the one-trace page (`-o html`) and
 * `packeteye serve`'s page (render/html-app.ts), which loads traces into
 * itself: clicks are delegated from the document (an arrow opens its hop,
 * Expand/Collapse all), and `enhance(root)` binds what lives in one trace
 * (hop ↔ arrow highlighting, the alternatives' switch, request/reply
 * visibility). Script text, run inside the page's own function.
 */
export const TRACE_BEHAVIOUR = `var d=document;
function hopsOf(leg){return d.querySelectorAll('.hop[data-leg="'+leg+'"] > details');}
function openHop(id){var li=d.getElementById(id);if(!li)return;var det=li.querySelector('details');if(det)det.open=true;
li.classList.add('flash');setTimeout(function(){li.classList.remove('flash');},1200);}
d.addEventListener('click',function(e){var t=e.target;if(!(t instanceof Element))return;
var a=t.closest('a.arrow');if(a){var id=(a.getAttribute('href')||'').slice(1);openHop(id);return;}
var b=t.closest('button[data-leg]');if(b){var open=b.classList.contains('expand');hopsOf(b.getAttribute('data-leg')).forEach(function(x){x.open=open;});}});
function hl(el,on){var leg=el.getAttribute('data-leg'),n=el.getAttribute('data-hop');
d.querySelectorAll('.diagram [data-leg="'+leg+'"][data-hop="'+n+'"]').forEach(function(x){x.classList.toggle('hl',on);});}
function enhance(root){
root.querySelectorAll('.hop').forEach(function(li){['mouseenter','focusin'].forEach(function(ev){li.addEventListener(ev,function(){hl(li,true);});});
['mouseleave','focusout'].forEach(function(ev){li.addEventListener(ev,function(){hl(li,false);});});});
root.querySelectorAll('input[name="alt"]').forEach(function(r){r.addEventListener('change',function(){
root.querySelectorAll('.alt-panel').forEach(function(p){p.hidden=p.getAttribute('data-alt')!==r.value;});});});
root.querySelectorAll('input[data-show]').forEach(function(c){c.addEventListener('change',function(){
root.querySelector('figure').classList.toggle('hide-'+c.getAttribute('data-show'),!c.checked);});});}
var closed=[];addEventListener('beforeprint',function(){closed=[];d.querySelectorAll('details:not([open])').forEach(function(x){closed.push(x);x.open=true;});});
addEventListener('afterprint',function(){closed.forEach(function(x){x.open=false;});});`;

export const SCRIPT = `(function(){
${TRACE_BEHAVIOUR}
enhance(d);
if(location.hash)openHop(location.hash.slice(1));
})();`;
