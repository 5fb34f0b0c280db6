/**
 * `packeteye serve`'s page: the trace view of `-o html` (render/html.ts)
 * made interactive. Pick where a connection starts and where it goes (pods,
 * Services with their ports, nodes, external hosts: the server suggests as
 * you type), see its trace drawn and listed hop by hop, switch between the
 * alternatives kube-proxy's probabilities allow (“all paths”), and open the
 * rules of a hop: a rule step's chip opens the node's whole iptables chain
 * that matched, the matched rule marked.
 *
 * One document, no external URL: the style and the script are inline and
 * pinned by hash in the Content-Security-Policy, which allows requests to the
 * server that served the page and nothing else. The page asks over one
 * WebSocket to that server (`/api/ws`, cli/serve-ws.ts: each message a GET's
 * path and query, each answer that GET's body), by `fetch` where one cannot
 * be opened; `window.packeteye.ask` is that way of asking (the serve bench
 * times the page through it). The trace itself arrives as
 * HTML rendered by the server (the same view `-o html` writes), each hop's
 * body (its steps, the ARP exchanges and flood copies it waited for: most
 * of the view at scale) fetched when a hop is first opened, the defaults'
 * tables when their section is first opened. The question
 * is kept in the address (`?from=…&to=…`), so a trace can be bookmarked
 * and reloaded.
 *
 * Pure: a constant page, rendered once.
 */
import { createHash } from 'node:crypto';
import { CSS, TRACE_BEHAVIOUR } from './html-style.js';

const APP_CSS = `
form.ask{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:.6rem .8rem}
form.ask label{display:flex;flex-direction:column;font-size:.85rem;color:var(--muted);gap:.15rem}
form.ask label.inline{flex-direction:row;align-items:center;gap:.35rem;color:var(--fg)}
form.ask input[type=text]{min-width:16rem;font:inherit;padding:.25rem .4rem;background:var(--bg);color:var(--fg);border:1px solid var(--line);border-radius:4px}
form.ask input.num{min-width:0;width:7rem}
form.ask select{font:inherit;padding:.2rem;background:var(--bg);color:var(--fg);border:1px solid var(--line);border-radius:4px}
form.ask button{font:inherit;padding:.3rem .9rem;border-radius:6px;border:1px solid var(--line);background:var(--panel2);color:var(--fg);cursor:pointer}
#status{color:var(--muted);font-size:.85rem}
#msg{margin:.6rem 0}
#msg.error{color:var(--bad);white-space:pre-wrap}
#warnings pre{white-space:pre-wrap;font-size:.8rem}
.hop .chip.open-rules{cursor:pointer;text-decoration:underline dotted}
dialog#rules{max-width:min(96vw,70rem);width:100%;background:var(--bg);color:var(--fg);border:1px solid var(--line);border-radius:8px}
dialog#rules ol{font-family:ui-monospace,monospace;font-size:.8rem;padding-left:2.5rem}
dialog#rules li{white-space:pre-wrap;overflow-wrap:anywhere}
dialog#rules li.matched{background:var(--rw-bg);color:var(--rw-fg)}
`;

const APP_SCRIPT = `(function(){
${TRACE_BEHAVIOUR}
var form=d.getElementById('ask'),result=d.getElementById('result'),msg=d.getElementById('msg'),warn=d.getElementById('warnings');
var dlg=d.getElementById('rules');
var sock,sockBroken=false,waiting={},asks=0;
function socket(){if(sockBroken)return Promise.resolve(null);if(sock)return sock;
sock=new Promise(function(ok){var s,open=false;try{s=new WebSocket(location.origin.replace(/^http/,'ws')+'/api/ws');}catch(e){sockBroken=true;ok(null);return;}
s.onopen=function(){open=true;ok(s);};
s.onmessage=function(e){var t=String(e.data),nl=t.indexOf('\\n'),head=t.slice(0,nl).split(' '),w=waiting[head[0]];if(!w)return;delete waiting[head[0]];
var st=Number(head[1]);try{w.ok({ok:st>=200&&st<300,j:JSON.parse(t.slice(nl+1))});}catch(x){w.fail(x);}};
s.onclose=function(){if(!open){sockBroken=true;ok(null);}sock=undefined;var ws=waiting;waiting={};Object.keys(ws).forEach(function(k){ws[k].fail(new Error('the connection closed'));});};});
return sock;}
function get(path,params){var q=new URLSearchParams();Object.keys(params).forEach(function(k){if(params[k]!==undefined&&params[k]!=='')q.set(k,params[k]);});
var target=path+'?'+q.toString();
return socket().then(function(s){if(s&&s.readyState===1)return new Promise(function(ok,fail){var id=String(++asks);waiting[id]={ok:ok,fail:fail};s.send(id+' '+target);});
return fetch(target,{headers:{Accept:'application/json'}}).then(function(r){return r.json().then(function(j){return {ok:r.ok,j:j};});});});}
window.packeteye={ask:get};
function say(text,isError){msg.textContent=text;msg.className=isError?'error':'';}
function problem(j){var e=j&&j.error;if(!e)return 'no answer';return e.message+(e.diagnostics&&e.diagnostics.length?'':' ['+e.code+']');}
function suggest(input,list,to){var timer;input.addEventListener('input',function(){clearTimeout(timer);timer=setTimeout(function(){
var v=input.value.replace(/:\\d*$/,'');get('/api/endpoints',{q:v,limit:40}).then(function(r){if(!r.ok)return;list.textContent='';
r.j.endpoints.forEach(function(e){var refs=[e.ref];if(to&&e.ports.length)refs=e.ports.map(function(p){return e.ref+':'+p.split('/')[1];});
refs.forEach(function(ref){var o=d.createElement('option');o.value=ref;o.label=e.kind+(e.ip?' '+e.ip:'')+(e.ports.length?' '+e.ports.join(' '):'');list.appendChild(o);});});});},120);});}
suggest(d.getElementById('from'),d.getElementById('from-list'),false);
suggest(d.getElementById('to'),d.getElementById('to-list'),true);
function question(){var f=new FormData(form);return {from:f.get('from'),to:f.get('to'),proto:f.get('proto'),seed:f.get('seed'),'all-paths':f.get('all-paths')?'1':''};}
var asked,hops;
function ask(q){say('tracing '+q.from+' \\u2192 '+q.to+'\\u2026');var p=Object.assign({},q,{html:'brief',answer:'0',defaults:'touched'});
return get('/api/trace',p).then(function(r){if(!r.ok){result.textContent='';warn.hidden=true;say(problem(r.j),true);return;}
asked=p;hops=undefined;result.innerHTML=r.j.html;enhance(result);say('');
var w=r.j.stderr||[];warn.hidden=w.length===0;warn.querySelector('pre').textContent=w.join('\\n');
warn.querySelector('summary').textContent=w.length+' warning'+(w.length===1?'':'s')+' about the input';
d.title='packeteye serve: '+q.from+' \\u2192 '+q.to;},function(e){say('the server did not answer: '+e,true);});}
form.addEventListener('submit',function(e){e.preventDefault();var q=question();
var u=new URLSearchParams();Object.keys(q).forEach(function(k){if(q[k])u.set(k,q[k]);});history.replaceState(null,'','?'+u.toString());ask(q);});
function chips(){result.querySelectorAll('.hop .chip').forEach(function(c){var p=c.textContent.trim().split(/\\s+/);if(p.length<2||!c.parentElement||!c.parentElement.querySelector('code.rule'))return;
c.classList.add('open-rules');c.setAttribute('role','button');c.setAttribute('tabindex','0');c.title='open this chain\\u2019s rules';});}
function openRules(c){var p=c.textContent.trim().split(/\\s+/),idx=Number((p[p.length-1]||'').replace('#','')),table=p.length>2?p[0]:'filter',chain=p.length>2?p[1]:p[0];
var hop=c.closest('.hop'),host=hop&&hop.querySelector('.host');if(!host)return;
get('/api/rules',{host:host.textContent,table:table,chain:chain}).then(function(r){var h=dlg.querySelector('h2'),ol=dlg.querySelector('ol'),note=dlg.querySelector('p');ol.textContent='';
if(!r.ok){h.textContent='rules';note.textContent=problem(r.j);}else{var ch=r.j.chain;
h.textContent=host.textContent+': '+table+' '+chain;note.textContent=ch.rules.length+' rule'+(ch.rules.length===1?'':'s')+(ch.policy?', policy '+ch.policy:'')+(idx?'; rule '+idx+' matched':'');
ch.rules.forEach(function(line,i){var li=d.createElement('li');li.textContent=line;if(i+1===idx)li.className='matched';ol.appendChild(li);});}
if(!dlg.open)dlg.showModal();var m=ol.querySelector('.matched');if(m)m.scrollIntoView({block:'center'});});}
function fill(){if(hops||!asked)return;var p=Object.assign({},asked,{html:'hops'});delete p.answer;var mine=asked;
hops=get('/api/trace',p).then(function(r){if(mine!==asked)return;if(!r.ok){say(problem(r.j),true);hops=undefined;return;}
result.querySelectorAll('.hop').forEach(function(li){var b=li.querySelector('.hopbody[data-later]'),h=r.j.hops[li.id];if(b&&h!==undefined){b.innerHTML=h;b.removeAttribute('data-later');}});chips();});}
function fillDefaults(b){var p=Object.assign({},asked,{html:'defaults'});delete p.answer;var mine=asked;
get('/api/trace',p).then(function(r){if(mine!==asked||!b.hasAttribute('data-later'))return;b.removeAttribute('data-asked');if(!r.ok){say(problem(r.j),true);return;}b.innerHTML=r.j.defaults;b.removeAttribute('data-later');});}
result.addEventListener('toggle',function(e){var t=e.target;if(!(t instanceof Element)||!t.open)return;if(t.querySelector(':scope > .hopbody[data-later]'))fill();
var b=t.querySelector(':scope > .defaultsbody[data-later]');if(b&&!b.hasAttribute('data-asked')){b.setAttribute('data-asked','');fillDefaults(b);}},true);
result.addEventListener('click',function(e){var c=e.target instanceof Element&&e.target.closest('.chip.open-rules');if(c)openRules(c);});
result.addEventListener('keydown',function(e){var c=e.target instanceof Element&&e.target.closest('.chip.open-rules');if(c&&(e.key==='Enter'||e.key===' ')){e.preventDefault();openRules(c);}});
dlg.querySelector('button').addEventListener('click',function(){dlg.close();});
get('/api/status',{}).then(function(r){var s=r.j;d.getElementById('status').textContent=s.ready?(s.files.join(', ')+': '+s.nodes+' nodes, '+s.pods+' pods, '+s.services+' Services (reading '+s.generation+')'):'the cluster files cannot be read: '+s.errors.map(function(x){return x.message;}).join('; ');});
var start=new URLSearchParams(location.search);if(start.get('from')&&start.get('to')){['from','to','proto','seed'].forEach(function(k){if(start.get(k))form.elements[k].value=start.get(k);});
form.elements['all-paths'].checked=!!start.get('all-paths');ask(question());}
})();`;

function sha256(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('base64');
}

const STYLE = CSS + APP_CSS;

/** The page `packeteye serve` answers `/` with. */
export function renderServePage(): string {
  const csp = [
    "default-src 'none'",
    `style-src 'sha256-${sha256(STYLE)}'`,
    `script-src 'sha256-${sha256(APP_SCRIPT)}'`,
    "connect-src 'self'",
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${csp}">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="color-scheme" content="light dark">` +
    `<title>packeteye serve</title><style>${STYLE}</style></head>\n<body>` +
    `<div class="app"><p class="muted">packeteye serve · <span id="status">reading…</span></p>` +
    `<form id="ask" class="ask" autocomplete="off">` +
    `<label>from <input type="text" id="from" name="from" list="from-list" required placeholder="NS/POD, node/NAME, host/NAME or IP"></label><datalist id="from-list"></datalist>` +
    `<label>to <input type="text" id="to" name="to" list="to-list" required placeholder="svc/NS/NAME:PORT, NS/POD:PORT, IP:PORT"></label><datalist id="to-list"></datalist>` +
    `<label>protocol <select name="proto" id="proto"><option value="">as the port says</option><option>tcp</option><option>udp</option><option>icmp</option></select></label>` +
    `<label>seed <input type="text" class="num" name="seed" id="seed" value="1" inputmode="numeric"></label>` +
    `<label class="inline"><input type="checkbox" name="all-paths" id="all-paths" value="1"> all paths (every branch kube-proxy's probabilities allow)</label>` +
    `<button type="submit">Trace</button></form>` +
    `<div id="msg" role="status" aria-live="polite"></div>` +
    `<details id="warnings" hidden><summary></summary><pre></pre></details></div>` +
    `<div id="result"></div>` +
    `<dialog id="rules" aria-labelledby="rules-h"><h2 id="rules-h">rules</h2><p></p><ol></ol><button type="button">Close</button></dialog>` +
    `<script>${APP_SCRIPT}</script></body></html>\n`
  );
}
