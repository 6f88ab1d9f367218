/// The live dashboard (`GET /dashboard`): one self-contained page, no external URLs, that polls
/// `dashboard/state` (relative, so it also works behind a path prefix) and draws the balancer's state.
enum DashboardPage {
    static let html: String = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="color-scheme" content="light dark">
    <title>Switchyard dashboard</title>
    <style>
    :root{color-scheme:light dark;--bg:#f4f6f8;--fg:#1a1d21;--muted:#586170;--card:#fff;--line:#d9dee4;--head:#eceff3;
      --accent:#2459c9;--cfg:#8a94a3;--ok:#17663a;--ok-bg:#dcf5e4;--warn:#7a4d00;--warn-bg:#ffefbd;--bad:#a61b1b;
      --bad-bg:#fde2e2;--info:#2f4fa8;--info-bg:#e3eafc;--focus:#c2410c}
    @media (prefers-color-scheme:dark){:root{--bg:#0e1216;--fg:#e4e7eb;--muted:#9ba5b1;--card:#161b21;--line:#2a323c;
      --head:#1f262e;--accent:#6ea0ff;--cfg:#6b7482;--ok:#7ee2a0;--ok-bg:#123222;--warn:#ffd36e;--warn-bg:#3b2c06;
      --bad:#ff9a9a;--bad-bg:#3d1616;--info:#a9bfff;--info-bg:#1b2647;--focus:#fb923c}}
    *{box-sizing:border-box}
    body{margin:0;background:var(--bg);color:var(--fg);
      font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
    code{font:12.5px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
    a{color:var(--accent)}
    :focus-visible{outline:3px solid var(--focus);outline-offset:2px}
    .skip{position:absolute;left:.5rem;top:-4rem;z-index:9;background:var(--card);color:var(--fg);padding:.5rem .75rem;border:2px solid var(--focus)}
    .skip:focus{top:.5rem}
    header{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.25rem;padding:.75rem 1rem;background:var(--card);border-bottom:1px solid var(--line)}
    h1{font-size:1.2rem;margin:0}
    .brand{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem .75rem;min-width:0}
    .facts{display:flex;flex-wrap:wrap;gap:.25rem 1rem;margin:0}
    .facts div{display:flex;gap:.35rem}
    dt{color:var(--muted)}
    dd{margin:0;font-variant-numeric:tabular-nums}
    nav{display:flex;flex-wrap:wrap;gap:.25rem .9rem}
    .status{font-weight:600;padding:.1rem .6rem;border-radius:.8rem;border:1px solid currentColor;overflow-wrap:anywhere;color:var(--muted)}
    .status::before{content:"";display:inline-block;width:.55em;height:.55em;border-radius:50%;background:currentColor;margin-right:.4em}
    .status[data-kind=live]{color:var(--ok);background:var(--ok-bg)}
    .status[data-kind=error]{color:var(--bad);background:var(--bad-bg)}
    .status[data-kind=paused]{color:var(--warn);background:var(--warn-bg)}
    button{font:inherit;padding:.3rem .8rem;border-radius:6px;border:1px solid var(--line);background:var(--head);color:var(--fg);cursor:pointer}
    button[aria-pressed=true]{background:var(--warn-bg);color:var(--warn);border-color:currentColor;font-weight:600}
    main{padding:1rem;max-width:1400px;margin:0 auto}
    main:focus{outline:none}
    section{margin:0 0 1.5rem;min-width:0}
    h2{font-size:1.1rem;margin:0 0 .4rem}
    h3{font-size:1rem;margin:0 0 .5rem}
    h4{font-size:.9rem;margin:.9rem 0 .3rem}
    .spaced{margin-top:.9rem}
    p{margin:.2rem 0 .6rem}
    .card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.75rem 1rem;margin-bottom:1rem;min-width:0}
    .scroll{overflow-x:auto;max-width:100%}
    table{border-collapse:collapse;width:100%}
    th,td{padding:.35rem .6rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;white-space:nowrap}
    thead th{background:var(--head);font-weight:600;font-size:12.5px;color:var(--muted)}
    tbody th{font-weight:500}
    .n{text-align:right;font-variant-numeric:tabular-nums}
    .wrap{white-space:normal;overflow-wrap:break-word;min-width:15rem}
    .muted,.sub{color:var(--muted)}
    .sub{font-size:12px}
    .bad-text{color:var(--bad);font-weight:600}
    .badge{display:inline-block;padding:0 .45rem;border-radius:999px;font-weight:600;font-size:12.5px;border:1px solid currentColor}
    .h-healthy,.d-fresh{color:var(--ok);background:var(--ok-bg)}
    .h-ejected,.h-unhealthy,.d-failed{color:var(--bad);background:var(--bad-bg)}
    .h-half_open,.d-negative_hold{color:var(--info);background:var(--info-bg)}
    .d-stale,.is-stale{color:var(--warn);background:var(--warn-bg)}
    .h-unknown,.d-unknown{color:var(--muted)}
    tr.stale>*{background:var(--warn-bg)}
    tr.stale>th{box-shadow:inset 4px 0 var(--warn)}
    .share{display:flex;align-items:center;gap:.5rem}
    .bars{display:grid;gap:2px;width:64px}
    .track{display:block;height:6px;background:var(--head);border-radius:3px;overflow:hidden}
    .bar{display:block;height:100%}
    .act{background:var(--accent)}
    .cfg{background:var(--cfg)}
    .swatch{display:inline-block;width:1.6em;height:.6em;border-radius:3px;vertical-align:middle}
    .sw-warn{background:var(--warn)}
    .sw-bad{background:var(--bad)}
    .records{margin:0;padding:0;list-style:none}
    .records li{white-space:nowrap}
    .timeline svg{display:block;max-width:100%;height:auto}
    .timeline text{fill:var(--fg);font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
    .timeline text.axis{fill:var(--muted);font:11px system-ui,sans-serif}
    .lane-bg{fill:var(--head)}
    .grid{stroke:var(--line)}
    .ej{fill:var(--warn)}
    .ej.open{fill:var(--bad)}
    .ejections{margin:.4rem 0 0;padding-left:1.25rem}
    .ejections li{margin:.15rem 0}
    @media (max-width:600px){header,main{padding:.6rem}.card{padding:.6rem}th,td{padding:.3rem .45rem}}
    </style>
    </head>
    <body>
    <a class="skip" href="#main">Skip to content</a>
    <header>
      <div class="brand"><h1>Switchyard</h1><span id="status" class="status" role="status" aria-live="polite">connecting…</span></div>
      <dl class="facts">
        <div><dt>Node</dt><dd id="h-node">–</dd></div>
        <div><dt>Generation</dt><dd id="h-gen">–</dd></div>
        <div><dt>Version</dt><dd id="h-version">–</dd></div>
        <div><dt>Uptime</dt><dd id="h-uptime">–</dd></div>
        <div><dt>Updated</dt><dd id="h-updated">–</dd></div>
      </dl>
      <button id="pause" type="button" aria-pressed="false">Pause updates</button>
      <nav aria-label="Sections"><a href="#services">Services</a><a href="#upstreams">Upstreams</a><a href="#dns">DNS</a><a href="#node">Node &amp; cluster</a></nav>
    </header>
    <main id="main" tabindex="-1">
    <section id="services" aria-labelledby="services-h" class="card">
      <h2 id="services-h">Services</h2>
      <p class="muted">Rates, latency and error rate over the last 30 seconds.</p>
      <div class="scroll" role="region" aria-label="Services table" tabindex="0"><table>
        <thead><tr><th scope="col">Service</th><th scope="col">Upstream</th><th scope="col" class="n">Requests/s</th>
          <th scope="col" class="n">p50</th><th scope="col" class="n">p99</th><th scope="col" class="n">Error rate</th>
          <th scope="col" class="n">Requests total</th><th scope="col" class="n">Errors total</th></tr></thead>
        <tbody id="svc-body"></tbody></table></div>
    </section>
    <section id="upstreams" aria-labelledby="upstreams-h">
      <h2 id="upstreams-h">Upstreams</h2>
      <p class="muted">Share: <span class="swatch act"></span> picks in the last 30 s, <span class="swatch cfg"></span> configured
        (weight ÷ sum of the weights in the priority group that gets traffic now). Timeline: <span class="swatch sw-warn"></span> ended ejection,
        <span class="swatch sw-bad"></span> still ejected.</p>
      <div id="up-list"></div>
      <p id="up-empty" class="muted card" hidden>No upstreams.</p>
    </section>
    <section id="dns" aria-labelledby="dns-h" class="card">
      <h2 id="dns-h">DNS</h2>
      <div class="scroll" role="region" aria-label="DNS names table" tabindex="0"><table>
        <thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Records</th><th scope="col" class="n">TTL left</th>
          <th scope="col" class="n">Last good answer</th><th scope="col">Status</th><th scope="col">Last error</th></tr></thead>
        <tbody id="dns-body"></tbody></table></div>
    </section>
    <section id="node" aria-labelledby="node-h" class="card">
      <h2 id="node-h">Node &amp; cluster</h2>
      <dl class="facts">
        <div><dt>Node</dt><dd id="n-id">–</dd></div>
        <div><dt>Configuration generation</dt><dd id="n-gen">–</dd></div>
        <div><dt>Version</dt><dd id="n-version">–</dd></div>
        <div><dt>Uptime</dt><dd id="n-uptime">–</dd></div>
        <div><dt>Server time</dt><dd id="n-time">–</dd></div>
      </dl>
      <p id="cluster-none" class="muted">Single node: no cluster.</p>
      <div id="cluster-box" hidden>
        <h3 class="spaced">Cluster peers</h3>
        <div class="scroll" role="region" aria-label="Cluster peers table" tabindex="0"><table>
          <thead><tr><th scope="col">Node</th><th scope="col" class="n">Lag (generations)</th><th scope="col" class="n">Last seen</th></tr></thead>
          <tbody id="cluster-body"></tbody></table></div>
      </div>
    </section>
    </main>
    <script>
    (() => {
    'use strict';
    const WINDOW_S = 30, POLL_MS = 1000, TICK_MS = 250, TIMELINE_S = 600, DASH = '–';
    const HEALTH = {healthy: ['✓', 'healthy'], ejected: ['✕', 'ejected'], half_open: ['◐', 'half-open'], unhealthy: ['▲', 'unhealthy']};
    const DNS_STATUS = {fresh: ['✓', 'fresh'], stale: ['⚠', 'stale'], negative_hold: ['⊘', 'negative hold'], failed: ['✕', 'failed']};
    const $ = id => document.getElementById(id);
    const arr = x => Array.isArray(x) ? x : [];
    const str = x => x == null ? '' : String(x);
    const isNum = x => typeof x === 'number' && isFinite(x);
    const probe = document.createElement('div');
    probe.innerHTML = '<svg></svg>';            // constant markup: yields the SVG namespace without spelling it out
    const SVG_NS = probe.firstChild.namespaceURI;
    let samples = [], ticks = [], refreshes = 0, paused = false, timer = 0, busy = false, seq = 0;
    const upBlocks = new Map();

    // DOM building: text always goes in as text nodes, attributes through setAttribute.
    function attrs(el, a) { for (const k in a || {}) if (a[k] != null && a[k] !== false) el.setAttribute(k, String(a[k])); return el; }
    function kids(el, list) { el.append(...list.flat(Infinity).filter(k => k != null && k !== false).map(k => k instanceof Node ? k : String(k))); return el; }
    const h = (tag, a, ...c) => kids(attrs(document.createElement(tag), a), c);
    const s = (tag, a, ...c) => kids(attrs(document.createElementNS(SVG_NS, tag), a), c);
    const emptyRow = (cols, text) => h('tr', {}, h('td', {colspan: cols, class: 'muted'}, text));
    // A host name that may wrap after its dots (and nowhere else) in narrow columns.
    const dotted = text => h('code', {}, str(text).split(/(?<=\.)/).map((part, i) => i ? [h('wbr'), part] : part));
    function setText(id, text) { const el = $(id); if (el.textContent !== text) el.textContent = text; }

    function fmtNum(n) { return isNum(n) ? Math.round(n).toLocaleString('en-US') : DASH; }
    function fmtRate(r) { return r == null ? DASH : r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2); }
    function fmtMs(sec) { if (sec == null || !isFinite(sec)) return DASH; const ms = sec * 1000; return (ms < 1 ? ms.toFixed(2) : ms < 10 ? ms.toFixed(1) : ms.toFixed(0)) + ' ms'; }
    function fmtPct(x) { if (x == null || !isFinite(x)) return DASH; const p = x * 100; return (p === 0 ? '0' : p < 1 ? p.toFixed(2) : p < 10 ? p.toFixed(1) : p.toFixed(0)) + '%'; }
    function fmtSecs(v) { return v < 10 ? v.toFixed(1) + ' s' : Math.round(v) + ' s'; }
    function fmtDur(v) {
      if (!isNum(v)) return DASH;
      v = Math.max(0, v);
      if (v < 60) return fmtSecs(v);
      const m = Math.floor(v / 60), hr = Math.floor(m / 60);
      return m < 60 ? `${m}m ${Math.floor(v % 60)}s` : hr < 24 ? `${hr}h ${m % 60}m` : `${Math.floor(hr / 24)}d ${hr % 24}h`;
    }
    function clock(unix) { return new Date(unix * 1000).toLocaleTimeString([], {hour12: false}); }

    // Values that move between polls: base value at sample arrival, counted down (-1) or up (+1).
    function addTick(el, base, sign, at, fmt) {
      if (!isNum(base)) { el.textContent = DASH; return el; }
      ticks.push({el, base, sign, at, fmt});
      return el;
    }
    function tick() {
      const now = performance.now() / 1000;
      for (const t of ticks) { const text = t.fmt(t.base + t.sign * (now - t.at)); if (t.el.textContent !== text) t.el.textContent = text; }
    }

    // Samples: {at (client seconds), data, svc: name → service, addr: "upstream address" → address}.
    function addSample(data) {
      const at = performance.now() / 1000, last = samples[samples.length - 1];
      const up = data.node?.uptime_seconds, prevUp = last?.data.node?.uptime_seconds;
      if (last && ((isNum(up) && isNum(prevUp) && up < prevUp) || str(data.node?.id) !== str(last.data.node?.id))) samples = [];  // restart: counters reset
      const svc = new Map(), addr = new Map();
      for (const x of arr(data.services)) svc.set(str(x.name), x);
      for (const u of arr(data.upstreams)) for (const a of arr(u.addresses)) addr.set(str(u.name) + ' ' + str(a.address), a);
      samples.push({at, data, svc, addr});
      while (samples.length > 1 && at - samples[0].at > WINDOW_S) samples.shift();
    }
    function span(a, b) {
      const ta = a.data.node?.time, tb = b.data.node?.time;
      return isNum(ta) && isNum(tb) && tb > ta ? tb - ta : b.at - a.at;
    }
    // Increase of a counter over the window, from the oldest sample that has it; null with fewer than two samples.
    function windowed(get) {
      const last = samples[samples.length - 1], cur = get(last);
      if (!isNum(cur)) return null;
      for (const x of samples) {
        if (x === last) break;
        const old = get(x);
        if (isNum(old)) return {d: Math.max(0, cur - old), dt: span(x, last)};
      }
      return null;
    }
    const leNum = le => isNum(le) ? le : /^\s*\+?inf/i.test(str(le)) ? Infinity : parseFloat(le);
    // histogram_quantile over the window's bucket increases (cumulative), interpolating linearly inside a bucket.
    function quantile(q, buckets) {
      if (!buckets.length || buckets[buckets.length - 1].le !== Infinity) return null;
      const total = buckets[buckets.length - 1].c;
      if (!(total > 0)) return null;
      const rank = q * total;
      let i = buckets.findIndex(b => b.c >= rank);
      if (i < 0) i = buckets.length - 1;
      if (i === buckets.length - 1) return i > 0 ? buckets[i - 1].le : null;
      const b = buckets[i], lo = i > 0 ? buckets[i - 1].le : 0, below = i > 0 ? buckets[i - 1].c : 0;
      if (i === 0 && b.le <= 0) return b.le;
      return b.c > below ? lo + (b.le - lo) * (rank - below) / (b.c - below) : b.le;
    }
    function latency(name) {
      const last = samples[samples.length - 1], cur = last.svc.get(name);
      const base = samples.find(x => x !== last && x.svc.has(name));
      if (!cur || !base) return {};
      const old = new Map(arr(base.svc.get(name).latency_buckets).map(b => [leNum(b.le), Number(b.count) || 0]));
      let run = 0;
      const buckets = arr(cur.latency_buckets).map(b => ({le: leNum(b.le), c: Math.max(0, (Number(b.count) || 0) - (old.get(leNum(b.le)) ?? 0))}))
        .filter(b => !isNaN(b.le)).sort((a, b) => a.le - b.le).map(b => ({le: b.le, c: (run = Math.max(run, b.c))}));
      return {p50: quantile(0.5, buckets), p99: quantile(0.99, buckets)};
    }

    function render() {
      const last = samples[samples.length - 1], d = last.data, node = d.node || {};
      ticks = [];
      for (const [a, b] of [['h-node', 'n-id'], ['h-gen', 'n-gen'], ['h-version', 'n-version']]) {
        const v = a === 'h-node' ? node.id : a === 'h-gen' ? node.generation : node.version;
        setText(a, str(v) || DASH); setText(b, str(v) || DASH);
      }
      addTick($('h-uptime'), node.uptime_seconds, 1, last.at, fmtDur);
      addTick($('n-uptime'), node.uptime_seconds, 1, last.at, fmtDur);
      setText('n-time', isNum(node.time) ? clock(node.time) : DASH);
      setText('h-updated', clock(Date.now() / 1000));
      renderServices(d);
      renderUpstreams(d, last);
      renderDns(d, last);
      renderCluster(d, last);
      tick();
    }

    function renderServices(d) {
      const rows = arr(d.services).map(svc => {
        const name = str(svc.name);
        const req = windowed(x => x.svc.get(name)?.requests_total), err = windowed(x => x.svc.get(name)?.errors_total);
        const {p50, p99} = latency(name);
        const rate = req && req.dt > 0 ? req.d / req.dt : null, errRate = req && err && req.d > 0 ? err.d / req.d : null;
        return h('tr', {'data-service': name},
          h('th', {scope: 'row'}, name),
          h('td', {}, svc.upstream == null ? DASH : str(svc.upstream)),
          h('td', {class: 'n'}, fmtRate(rate)), h('td', {class: 'n'}, fmtMs(p50)), h('td', {class: 'n'}, fmtMs(p99)),
          h('td', {class: 'n' + (errRate > 0.01 ? ' bad-text' : '')}, fmtPct(errRate)),
          h('td', {class: 'n'}, fmtNum(svc.requests_total)), h('td', {class: 'n'}, fmtNum(svc.errors_total)));
      });
      $('svc-body').replaceChildren(...(rows.length ? rows : [emptyRow(8, 'No services.')]));
    }

    function upstreamBlock(name) {
      let b = upBlocks.get(name);
      if (b) return b;
      const id = 'up-' + (++seq), cols = ['Address', 'Health', 'Weight', 'Share: picked / configured', 'In flight', 'Failures', 'Priority', 'Target'];
      b = {tbody: h('tbody'), timeline: h('div', {class: 'timeline'}), list: h('ul', {class: 'ejections'}),
           empty: h('p', {class: 'muted'}, 'No ejections in the last 10 minutes.')};
      b.el = h('article', {class: 'card', 'aria-labelledby': id},
        h('h3', {id}, 'Upstream ', h('code', {}, name)),
        h('div', {class: 'scroll', role: 'region', tabindex: '0', 'aria-label': 'Addresses of ' + name},
          h('table', {}, h('thead', {}, h('tr', {}, cols.map((c, i) => h('th', {scope: 'col', class: [2, 4, 5, 6].includes(i) ? 'n' : null}, c)))), b.tbody)),
        h('h4', {}, 'Ejections, last 10 minutes'), b.timeline, b.list, b.empty);
      upBlocks.set(name, b);
      return b;
    }

    function renderUpstreams(d, last) {
      const list = $('up-list'), seen = new Set(), now = isNum(d.node?.time) ? d.node.time : Date.now() / 1000;
      for (const up of arr(d.upstreams)) {
        const name = str(up.name);
        if (seen.has(name)) continue;
        const b = upstreamBlock(name), at = list.children[seen.size] || null;
        if (at !== b.el) list.insertBefore(b.el, at);
        seen.add(name);
        fillUpstream(b, up, name, last, now);
      }
      for (const [name, b] of upBlocks) if (!seen.has(name)) { b.el.remove(); upBlocks.delete(name); }
      $('up-empty').hidden = seen.size > 0;
    }

    function fillUpstream(b, up, name, last, now) {
      const addrs = arr(up.addresses), key = a => name + ' ' + str(a.address);
      const deltas = addrs.map(a => windowed(x => x.addr.get(key(a))?.requests_total));
      const picks = deltas.reduce((t, x) => t + (x ? x.d : 0), 0);
      // SRV priority: only the group that gets traffic now (lowest priority) shares it; the others expect none.
      const active = isNum(up.active_priority) ? up.active_priority : null;
      const inActive = a => active === null || a.priority === active;
      const weights = addrs.reduce((t, a) => t + (inActive(a) && isNum(a.weight) && a.weight > 0 ? a.weight : 0), 0);
      b.tbody.replaceChildren(...addrs.map((a, i) => {
        const fails = windowed(x => x.addr.get(key(a))?.failures_total), health = str(a.health);
        const actual = picks > 0 && deltas[i] ? deltas[i].d / picks : null;
        const cfg = weights > 0 && isNum(a.weight) ? (inActive(a) ? Math.max(0, a.weight) / weights : 0) : null;
        return h('tr', {'data-upstream': name, 'data-address': str(a.address), 'data-health': health},
          h('th', {scope: 'row'}, h('code', {}, str(a.address))),
          h('td', {}, healthBadge(a, health, last)),
          h('td', {class: 'n'}, isNum(a.weight) ? a.weight : DASH),
          h('td', {}, shareCell(actual, cfg)),
          h('td', {class: 'n'}, fmtNum(a.in_flight)),
          h('td', {class: 'n'}, fmtNum(a.failures_total), fails && fails.d > 0 ? h('span', {class: 'bad-text'}, ` (+${fails.d} in 30 s)`) : null),
          h('td', {class: 'n'}, isNum(a.priority) ? a.priority : DASH),
          h('td', {class: 'wrap'}, a.target == null ? DASH : dotted(a.target)));
      }));
      if (!addrs.length) b.tbody.append(emptyRow(8, 'No addresses.'));
      timeline(b, up, name, now);
      const ej = arr(up.ejections).slice().sort((x, y) => (Number(y.start) || 0) - (Number(x.start) || 0));
      b.list.replaceChildren(...ej.map(e => h('li', {'data-ejection-address': str(e.address)}, h('code', {}, str(e.address)), ': ', describe(e, now))));
      b.empty.hidden = ej.length > 0;
    }

    function shareCell(actual, cfg) {
      const bar = (cls, v) => { const el = h('span', {class: 'bar ' + cls}); el.style.width = (v == null ? 0 : Math.min(100, v * 100)).toFixed(1) + '%'; return h('span', {class: 'track'}, el); };
      return h('div', {class: 'share'}, h('span', {class: 'bars', 'aria-hidden': 'true'}, bar('act', actual), bar('cfg', cfg)),
        h('span', {}, fmtPct(actual), h('span', {class: 'sub'}, ' / ' + fmtPct(cfg))));
    }

    function healthBadge(a, health, last) {
      const [icon, label] = HEALTH[health] || ['?', health || 'unknown'];
      const badge = h('span', {class: 'badge h-' + (HEALTH[health] ? health : 'unknown')}, h('span', {'aria-hidden': 'true'}, icon + ' '), label);
      if (health === 'ejected' && isNum(a.ejected_for_seconds))
        badge.append(addTick(h('span'), a.ejected_for_seconds, -1, last.at, v => v > 0 ? ` · ${fmtDur(v)} left` : ' · ending'));
      return badge;
    }

    function describe(e, now) {
      if (!isNum(e.start)) return 'ejected' + (e.reason ? ` — ${str(e.reason)}` : '');
      const open = !isNum(e.end), dur = (open ? now : e.end) - e.start;
      return `ejected at ${clock(e.start)} (${fmtDur(now - e.start)} ago), ` +
        (open ? `still ejected after ${fmtDur(dur)}` : `back at ${clock(e.end)} after ${fmtDur(dur)}`) + (e.reason ? ` — ${str(e.reason)}` : '');
    }

    // One lane per address with an ejection; drawn at the box's pixel width so text keeps its size.
    function timeline(b, up, name, now) {
      const ej = arr(up.ejections).filter(e => isNum(e.start)), lanes = [...new Set(ej.map(e => str(e.address)))];
      b.timeline.replaceChildren();
      b.timeline.hidden = !lanes.length;
      if (!lanes.length) return;
      const W = Math.max(280, Math.floor(b.timeline.clientWidth || 600)), wide = W >= 560;
      const laneH = wide ? 24 : 36, top = 6, axisH = 20, x0 = wide ? 176 : 4, x1 = W - 6, H = top + lanes.length * laneH + axisH, t0 = now - TIMELINE_S;
      const x = t => x0 + (x1 - x0) * (Math.min(Math.max(t, t0), now) - t0) / TIMELINE_S;
      const barY = i => top + i * laneH + (wide ? 4 : 16), barH = wide ? laneH - 8 : 16;
      const root = s('svg', {width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img',
        'aria-label': `Ejection timeline of ${name} over the last 10 minutes; the list below has the details`});
      lanes.forEach((addr, i) => root.append(
        s('text', {x: wide ? 0 : x0, y: top + i * laneH + (wide ? laneH / 2 + 4 : 11)}, addr.length > 22 ? addr.slice(0, 21) + '…' : addr),
        s('rect', {x: x0, y: barY(i), width: x1 - x0, height: barH, rx: 3, class: 'lane-bg'})));
      for (let m = 10; m >= 0; m -= 2) {
        const gx = x(now - m * 60);
        root.append(s('line', {x1: gx, x2: gx, y1: top, y2: H - axisH + 2, class: 'grid'}),
          s('text', {x: gx, y: H - 5, class: 'axis', 'text-anchor': m === 10 ? 'start' : m ? 'middle' : 'end'}, m ? `-${m}m` : 'now'));
      }
      for (const e of ej) {
        const i = lanes.indexOf(str(e.address)), open = !isNum(e.end), xa = x(e.start), xb = x(open ? now : e.end);
        root.append(s('rect', {x: xa, y: barY(i), width: Math.max(3, xb - xa), height: barH, rx: 3, class: open ? 'ej open' : 'ej'},
          s('title', {}, `${str(e.address)}: ${describe(e, now)}`)));
      }
      b.timeline.append(root);
    }

    function renderDns(d, last) {
      const rows = arr(d.dns).map(n => {
        const status = str(n.status), [icon, label] = DNS_STATUS[status] || ['?', status || 'unknown'];
        const stale = n.stale === true || status === 'stale', recs = arr(n.records);
        return h('tr', {'data-dns-name': str(n.name), class: stale ? 'stale' : null},
          h('th', {scope: 'row', class: 'wrap'}, dotted(n.name)),
          h('td', {}, str(n.type) || DASH),
          h('td', {class: 'wrap'}, recs.length ? h('ul', {class: 'records'}, recs.map(r => h('li', {'data-record': str(r)}, h('code', {}, str(r)))))
            : h('span', {class: 'muted'}, 'no records')),
          h('td', {class: 'n'}, addTick(h('span'), n.next_refresh_in, -1, last.at, v => v > 0 ? fmtSecs(v) : 'due'),
            isNum(n.ttl) ? h('span', {class: 'sub'}, ` of ${n.ttl} s`) : null),
          h('td', {class: 'n'}, addTick(h('span'), n.last_refresh_ago, 1, last.at, v => fmtDur(v) + ' ago')),
          h('td', {}, h('span', {class: 'badge d-' + (DNS_STATUS[status] ? status : 'unknown') + (stale ? ' is-stale' : '')},
            h('span', {'aria-hidden': 'true'}, icon + ' '), label, stale && status !== 'stale' ? ' (stale)' : null)),
          h('td', {class: 'wrap'}, n.last_error == null ? DASH : str(n.last_error)));
      });
      $('dns-body').replaceChildren(...(rows.length ? rows : [emptyRow(7, 'No DNS names watched.')]));
    }

    function renderCluster(d, last) {
      const peers = Array.isArray(d.cluster) ? d.cluster : null;
      $('cluster-none').hidden = !!peers;
      $('cluster-box').hidden = !peers;
      if (!peers) return;
      const rows = peers.map(p => h('tr', {'data-peer': str(p.id)}, h('th', {scope: 'row'}, str(p.id) || DASH),
        h('td', {class: 'n' + (p.lag > 0 ? ' bad-text' : '')}, isNum(p.lag) ? p.lag : DASH),
        h('td', {class: 'n'}, addTick(h('span'), p.last_seen_ago, 1, last.at, v => fmtDur(v) + ' ago'))));
      $('cluster-body').replaceChildren(...(rows.length ? rows : [emptyRow(3, 'No peers.')]));
    }

    function setStatus(kind, text) { setText('status', text); $('status').dataset.kind = kind; }
    function schedule(ms) { clearTimeout(timer); timer = paused ? 0 : setTimeout(poll, ms); }

    async function poll() {
      clearTimeout(timer);
      if (paused || document.hidden || busy) return;
      busy = true;
      const started = performance.now(), ctl = new AbortController(), kill = setTimeout(() => ctl.abort(), 5000);
      try {
        const res = await fetch('dashboard/state', {credentials: 'same-origin', cache: 'no-store', signal: ctl.signal, headers: {Accept: 'application/json'}});
        if (res.status === 401 || res.status === 403)
          throw new Error(`HTTP ${res.status}: the Admin API needs a token. Reload the page and the browser will ask for it ` +
            '(Basic auth: any user name, the token as password).');
        if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
        const data = await res.json();
        if (!data || typeof data !== 'object') throw new Error('unexpected answer from dashboard/state');
        addSample(data);
        render();
        document.body.dataset.refreshes = String(++refreshes);
        delete document.body.dataset.error;
        setStatus(paused ? 'paused' : 'live', paused ? 'paused' : 'live');
      } catch (err) {
        const msg = err && err.name === 'AbortError' ? 'request timed out' : str(err && err.message || err);
        document.body.dataset.error = msg;
        setStatus('error', 'error: ' + msg);
      } finally {
        clearTimeout(kill);
        busy = false;
        schedule(Math.max(0, POLL_MS - (performance.now() - started)));
      }
    }

    $('pause').addEventListener('click', e => {
      paused = !paused;
      e.currentTarget.setAttribute('aria-pressed', String(paused));
      if (paused) { schedule(0); setStatus('paused', 'paused'); } else poll();
    });
    document.addEventListener('visibilitychange', () => { if (!document.hidden) poll(); });
    setInterval(tick, TICK_MS);
    poll();
    })();
    </script>
    </body>
    </html>
    """#
}
