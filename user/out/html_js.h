/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* html_js.h: the page's own style and script, inlined by html.c; the page reads without the script. */
#ifndef TB_HTML_JS_H
#define TB_HTML_JS_H

static const char html_css[] =
	"body{font:14px/1.4 sans-serif;margin:1em 2em;color:#222}"
	"h2{margin-top:1.5em;border-bottom:1px solid #ccc}"
	".band{display:flex;align-items:center;margin:2px 0}"
	".band .lab{width:26em;font:12px monospace;white-space:nowrap;overflow:hidden}"
	"svg{background:#fafafa;border:1px solid #ddd}"
	"rect.b.off{display:none}rect.b.dim,polyline.dim{opacity:.12}"
	"rect.b.inh{fill-opacity:.55}rect.b.inh.edge{stroke:#000;stroke-width:1.5;stroke-dasharray:3 2}"
	"rect.b.leak.edge{stroke:#c00;stroke-width:.8}"
	"line.mk{stroke:#888;stroke-width:1}line.mk.fork{stroke:#a0a}line.mk.exec{stroke:#06c}"
	"line.mk.arena{stroke:#0a0}line.mk.bad{stroke:#d00;stroke-width:2}"
	"line#cursor,line.cursor{stroke:#000;stroke-dasharray:4 2}line.life{stroke-width:2}line.life.dim{opacity:.12}"
	"rect.cow{fill:#f80;fill-opacity:.3;stroke:#e60;stroke-width:1.5}"
	"rect.strip{fill:#f0f0f0}circle.xfree{fill:#d00}circle.reuse{fill:#06c}"
	"#controls{position:sticky;top:0;background:#fff;padding:.4em 0;border-bottom:1px solid #ddd}"
	".note{color:#a40}.key span{display:inline-block;margin-right:1em}"
	"table{border-collapse:collapse}td,th{padding:1px 8px;text-align:right;font:12px monospace}"
	"td.frames{text-align:left}svg.grid{background:#fff}rect.cell{fill:#236}"
	/* a band, a strip or a grid off screen is neither laid out nor painted at load */
	".band,svg.lives,svg.grid{content-visibility:auto;contain-intrinsic-size:auto 26px}";

/*
 * The selectors. Each block rectangle carries its times (data-a, data-f: ns
 * from the first row, -1 while live), its process and thread. A window
 * [from, to] shows the blocks live at some moment of it (from = to: live at
 * that moment; by default the end of the run); a process ("pPID") or a thread
 * dims every other one's blocks and lines. The URL's #t=NS&from=NS&tid=TID
 * (or &pid=PID) sets them, so a page can be opened on a window.
 */
static const char html_js[] =
	"(function(){'use strict';\n"
	"var d=document,span=+d.body.getAttribute('data-span'),rs,ls,cs,\n"
	"m=d.getElementById('moment'),fr=d.getElementById('from'),th=d.getElementById('thread'),\n"
	"lab=d.getElementById('moment-label'),cnt=d.getElementById('live-count');\n"
	"function other(e,sel){if(sel==='')return false;if(sel.charAt(0)==='p')\n"
	"return e.getAttribute('data-pid')!==sel.slice(1);return e.getAttribute('data-tid')!==sel;}\n"
	"function ms(t){return '+'+(t/1e6).toFixed(3)+' ms';}\n"
	"function apply(from,t,sel){var n=0,b=0,i;if(from>t)from=t;if(!rs){rs=d.querySelectorAll('rect.b');\n"
	"ls=d.querySelectorAll('polyline[data-pid],line.life');cs=d.querySelectorAll('line.cursor');}\n"
	"for(i=0;i<rs.length;i++){var r=rs[i],a=+r.getAttribute('data-a'),f=+r.getAttribute('data-f'),\n"
	"live=a<=t&&(f<0||f>from);r.classList.toggle('off',!live);r.classList.toggle('dim',other(r,sel));\n"
	"if(live){n++;b+=+r.getAttribute('data-size');}}\n"
	"for(i=0;i<ls.length;i++)ls[i].classList.toggle('dim',other(ls[i],sel));\n"
	"for(i=0;i<cs.length;i++){var w=+cs[i].getAttribute('data-w'),x=span?t/span*w:w;\n"
	"cs[i].setAttribute('x1',x);cs[i].setAttribute('x2',x);}\n"
	"lab.textContent=from<t?ms(from)+' to '+ms(t):t>=span?'end of run':ms(t);\n"
	"cnt.textContent=n+' blocks drawn, '+b+' B';\n"
	"d.body.setAttribute('data-moment',String(t));d.body.setAttribute('data-from',String(from));}\n"
	"function pos(t){return span?Math.round(t/span*1000):1000;}\n"
	"function fromHash(){var h=location.hash.slice(1).split('&'),t=span,from=null,sel='';\n"
	"for(var i=0;i<h.length;i++){var kv=h[i].split('='),v=Math.min(span,Math.max(0,+kv[1]||0));\n"
	"if(kv[0]==='t')t=v;if(kv[0]==='from')from=v;if(kv[0]==='tid')sel=kv[1]||'';\n"
	"if(kv[0]==='pid')sel='p'+(kv[1]||'');}if(from===null)from=t;\n"
	"m.value=pos(t);fr.value=pos(from);th.value=sel;\n"
	/* the page as written is the end of the run, every thread shown: nothing to redraw */
	"if(t<span||from<t||sel||rs)apply(from,t,sel);}\n"
	"function at(el){return +el.value>=1000?span:+el.value/1000*span;}\n"
	"function fromInputs(e){if(e&&e.target===m&&+fr.value>+m.value)fr.value=m.value;\n"
	"if(e&&e.target===fr&&+fr.value>+m.value)m.value=fr.value;apply(at(fr),at(m),th.value);}\n"
	"m.addEventListener('input',fromInputs);fr.addEventListener('input',fromInputs);\n"
	"th.addEventListener('change',fromInputs);window.addEventListener('hashchange',fromHash);fromHash();\n"
	"d.body.setAttribute('data-ready','1');\n"
	/* when the script ended, from the navigation's start: what bench/pictures.sh reports */
	"d.body.setAttribute('data-ready-ms',String(Math.round(performance.now())));})();\n";

#endif
