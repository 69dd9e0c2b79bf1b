/**
 * The dashboard page served by `GET {prefix}/dashboard`: one self-contained HTML document (inline CSS, inline
 * script, SVG charts drawn by hand; no CDN, no build step), polling the read endpoints every few seconds.
 */

/** The page's script: reads `/stats`, `/stats?scope=fleet`, `/health`, `/info`, `/hot-keys` next to the page. */
export const DASHBOARD_SCRIPT = String.raw`
(function () {
  'use strict';
  var base = location.pathname.replace(/\/dashboard\/?$/, '');
  var params = new URLSearchParams(location.search);
  var every = Math.max(250, Number(params.get('interval')) || 3000);
  var scope = params.get('scope') === 'instance' ? 'instance' : 'fleet';
  var history = [];
  var last = null;
  var refreshes = 0;
  var $ = function (id) { return document.getElementById(id); };
  var token = function () { return sessionStorage.getItem('infercache-token') || ''; };
  var headers = function () { var t = token(); return t ? { authorization: 'Bearer ' + t } : {}; };
  function get(path) {
    return fetch(base + path, { headers: headers(), cache: 'no-store' }).then(function (r) {
      return r.json().then(function (body) { return { status: r.status, body: body }; });
    });
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function pct(x) { return (x * 100).toFixed(1) + '%'; }
  function secs(s) {
    if (s < 1) return Math.round(s * 1000) + ' ms';
    if (s < 120) return s.toFixed(1) + ' s';
    if (s < 7200) return (s / 60).toFixed(1) + ' min';
    return (s / 3600).toFixed(1) + ' h';
  }
  function ms(x) { return x >= 1000 ? (x / 1000).toFixed(1) + ' s' : x + ' ms'; }
  function money(x) { return String(Math.round(x * 10000) / 10000); }
  function set(id, text) { var e = $(id); if (e) e.textContent = text; }

  var COLORS = ['#2563eb', '#16a34a', '#d97706', '#dc2626', '#7c3aed', '#0891b2', '#db2777', '#65a30d'];
  function lineChart(svg, series, labels) {
    var w = 600, h = 180, pad = 28;
    var n = 0;
    series.forEach(function (s) { n = Math.max(n, s.points.length); });
    var out = '<rect x="0" y="0" width="' + w + '" height="' + h + '" fill="none"/>';
    [0, 0.5, 1].forEach(function (v) {
      var y = h - pad - v * (h - 2 * pad);
      out += '<line x1="' + pad + '" x2="' + (w - 4) + '" y1="' + y + '" y2="' + y + '" class="grid"/>';
      out += '<text x="2" y="' + (y + 4) + '" class="axis">' + v * 100 + '%</text>';
    });
    series.forEach(function (s, i) {
      var pts = s.points.map(function (p, j) {
        var x = pad + (n <= 1 ? 0 : (j * (w - pad - 8)) / (n - 1));
        var y = h - pad - (p === null ? 0 : p) * (h - 2 * pad);
        return p === null ? null : x.toFixed(1) + ',' + y.toFixed(1);
      }).filter(Boolean);
      if (pts.length) out += '<polyline fill="none" stroke-width="' + (i === 0 ? 2.5 : 1.5) + '" stroke="' +
        COLORS[i % COLORS.length] + '" points="' + pts.join(' ') + '"/>';
    });
    if (labels.length) {
      out += '<text x="' + pad + '" y="' + (h - 6) + '" class="axis">' + esc(labels[0]) + '</text>';
      out += '<text x="' + (w - 4) + '" y="' + (h - 6) + '" text-anchor="end" class="axis">' + esc(labels[labels.length - 1]) + '</text>';
    }
    svg.innerHTML = out;
    $('legend').innerHTML = series.map(function (s, i) {
      return '<span><i style="background:' + COLORS[i % COLORS.length] + '"></i>' + esc(s.name) + '</span>';
    }).join('');
  }
  function barChart(svg, latency) {
    var w = 600, h = 160, pad = 20;
    var buckets = latency.hit.buckets;
    var max = 1;
    buckets.forEach(function (b, i) { max = Math.max(max, b.count, latency.miss.buckets[i].count); });
    var bw = (w - 2 * pad) / buckets.length;
    var out = '';
    buckets.forEach(function (b, i) {
      var hh = (b.count / max) * (h - 2 * pad), mh = (latency.miss.buckets[i].count / max) * (h - 2 * pad);
      var x = pad + i * bw;
      out += '<rect x="' + (x + 1) + '" y="' + (h - pad - hh) + '" width="' + (bw / 2 - 1) + '" height="' + hh + '" fill="#16a34a"><title>hit &lt;= ' + b.le + ' ms: ' + b.count + '</title></rect>';
      out += '<rect x="' + (x + bw / 2) + '" y="' + (h - pad - mh) + '" width="' + (bw / 2 - 1) + '" height="' + mh + '" fill="#d97706"><title>miss &lt;= ' + b.le + ' ms: ' + latency.miss.buckets[i].count + '</title></rect>';
      if (i % 3 === 0) out += '<text x="' + x + '" y="' + (h - 4) + '" class="axis">' + (b.le === null ? '+' : b.le) + '</text>';
    });
    svg.innerHTML = out;
  }

  function kindsTable(stats, ttl) {
    var rows = Object.keys(stats.kinds).sort().map(function (k) {
      var s = stats.kinds[k];
      var t = ttl ? ttl[k] || ttl.default : undefined;
      return '<tr data-kind="' + esc(k) + '"><td>' + esc(k) + '</td><td class="total">' + s.total + '</td><td class="hits">' +
        s.hits + '</td><td class="misses">' + s.misses + '</td><td class="stale">' + s.stale + '</td><td class="bypasses">' +
        s.bypasses + '</td><td class="errors">' + (s.errors + s.failures) + '</td><td class="hit-rate">' + pct(s.hitRate) +
        '</td><td>' + secs(s.timeSavedSeconds) + '</td><td>' + money(s.costSaved) + '</td><td class="ttl">' +
        (!t ? '-' : t.dynamic || t.ms === null ? 'dynamic' : secs(t.ms / 1000)) + '</td></tr>';
    });
    $('kinds').innerHTML = rows.join('') || '<tr><td colspan="11" class="muted">no calls yet</td></tr>';
  }
  function reasons(stats) {
    var items = [];
    Object.keys(stats.bypassReasons || {}).forEach(function (r) {
      items.push('<li data-reason="' + esc(r) + '">bypass: ' + esc(r) + ' <b>' + stats.bypassReasons[r] + '</b></li>');
    });
    if (stats.errors) items.push('<li data-reason="errors">cache errors <b>' + stats.errors + '</b></li>');
    if (stats.failures) items.push('<li data-reason="failures">computations failed <b>' + stats.failures + '</b></li>');
    $('reasons').innerHTML = items.join('') || '<li class="muted">none</li>';
  }

  function localSeries(stats) {
    var point = { at: new Date().toLocaleTimeString(), kinds: {} };
    if (last) {
      var d = function (a, b) { return (a.hits + a.stale) - (b.hits + b.stale); };
      var looked = function (a, b) { return d(a, b) + (a.misses - b.misses); };
      var l = looked(stats, last);
      point.rate = l > 0 ? d(stats, last) / l : null;
      Object.keys(stats.kinds).forEach(function (k) {
        var p = last.kinds[k] || { hits: 0, stale: 0, misses: 0 };
        var lk = looked(stats.kinds[k], p);
        point.kinds[k] = lk > 0 ? d(stats.kinds[k], p) / lk : null;
      });
      history.push(point);
      if (history.length > 60) history.shift();
    }
    last = stats;
    var kinds = Object.keys(stats.kinds).sort();
    return {
      labels: history.map(function (p) { return p.at; }),
      series: [{ name: 'all kinds', points: history.map(function (p) { return p.rate; }) }].concat(kinds.map(function (k) {
        return { name: k, points: history.map(function (p) { return p.kinds[k] === undefined ? null : p.kinds[k]; }) };
      })),
    };
  }
  function fleetSeries(stats) {
    var kinds = Object.keys(stats.kinds).sort();
    var has = function (p) { return p.hits + p.stale + p.misses > 0; };
    return {
      labels: stats.series.map(function (p) { return new Date(p.at).toLocaleTimeString(); }),
      series: [{ name: 'all kinds', points: stats.series.map(function (p) { return has(p) ? p.hitRate : null; }) }].concat(
        kinds.map(function (k) {
          return { name: k, points: stats.series.map(function (p) { return p.kinds[k] === undefined ? null : p.kinds[k]; }) };
        })),
    };
  }

  function refresh() {
    var fleetPath = '/stats?scope=fleet&window=' + encodeURIComponent(params.get('window') || '10m');
    return Promise.all([get(fleetPath), get('/health'), get('/info'), get('/stats')]).then(function (r) {
      var fleet = r[0], health = r[1], info = r[2], local = r[3];
      if (local.status === 403) { set('status', 'admin token required to read'); return; }
      set('status', fleet.status === 200 ? '' : 'fleet stats unavailable: ' + (fleet.body && fleet.body.message));
      var f = fleet.status === 200 ? fleet.body : null;
      var s = scope === 'fleet' && f ? f : local.body;
      set('hit-rate', pct(s.hitRate));
      set('calls', String(s.total));
      set('hits', String(s.hits));
      set('misses', String(s.misses));
      set('time-saved', secs(s.timeSavedSeconds));
      set('cost-saved', money(s.costSaved));
      set('errors', String(s.errors + s.failures));
      set('instances', f ? String(f.instances) : '-');
      set('p95-hit', f && f.latency.hit.count ? ms(f.latency.hit.p95Ms) : '-');
      set('p95-miss', f && f.latency.miss.count ? ms(f.latency.miss.p95Ms) : '-');
      var h = health.body || {};
      set('health', h.status || 'unknown');
      $('health').className = 'badge ' + (h.status || 'unknown');
      set('redis', h.redis ? h.redis.status + ', ' + (h.redis.latencyMs === undefined ? '-' : h.redis.latencyMs + ' ms') +
        (info.body && info.body.redis && info.body.redis.usedMemory ? ', ' + info.body.redis.usedMemory + ' used' : '') : '-');
      set('namespace', info.body ? info.body.namespace + ' / ' + info.body.version : '-');
      kindsTable(s, info.body && info.body.ttl);
      reasons(s);
      var chart = scope === 'fleet' && s.series ? fleetSeries(s) : localSeries(local.body);
      if (scope === 'fleet') localSeries(local.body);
      lineChart($('chart'), chart.series, chart.labels);
      if (f) barChart($('latency'), f.latency);
      var kinds = Object.keys(s.kinds).sort();
      var select = $('kind');
      var chosen = select.value;
      select.innerHTML = kinds.map(function (k) { return '<option>' + esc(k) + '</option>'; }).join('');
      if (kinds.indexOf(chosen) >= 0) select.value = chosen;
      return get('/hot-keys?n=5').then(function (hot) {
        var body = hot.body && hot.body.kinds ? hot.body.kinds : {};
        $('hot').innerHTML = Object.keys(body).sort().map(function (k) {
          return body[k].length ? '<li><b>' + esc(k) + '</b><ol>' + body[k].map(function (e) {
            return '<li data-key="' + esc(e.key) + '">' + esc(e.key) + ' <span class="muted">' + Math.round(e.calls) + '</span></li>';
          }).join('') + '</ol></li>' : '';
        }).join('') || '<li class="muted">none yet</li>';
      });
    }).then(function () {
      refreshes++;
      document.body.dataset.refreshes = String(refreshes);
      set('updated', new Date().toLocaleTimeString());
    }, function (e) { set('status', 'cannot reach the cache endpoints: ' + e.message); });
  }

  function invalidate(body) {
    if (!token()) { set('admin-result', 'enter the admin token first'); return; }
    fetch(base + '/invalidate', {
      method: 'POST',
      headers: Object.assign({ 'content-type': 'application/json' }, headers()),
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (b) {
        set('admin-result', r.status === 200 ? 'invalidated ' + JSON.stringify(b.invalidated) : 'refused (' + r.status + '): ' + b.message);
        $('admin-result').dataset.status = String(r.status);
        refresh();
      });
    }, function (e) { set('admin-result', 'failed: ' + e.message); });
  }
  $('token').value = token();
  $('save-token').addEventListener('click', function () {
    sessionStorage.setItem('infercache-token', $('token').value.trim());
    set('admin-result', $('token').value.trim() ? 'token kept for this tab' : 'token cleared');
    refresh();
  });
  $('invalidate-kind').addEventListener('click', function () { if ($('kind').value) invalidate({ kind: $('kind').value }); });
  $('invalidate-tag').addEventListener('click', function () {
    var tag = $('tag').value.trim();
    if (tag) invalidate({ tags: [tag] });
  });
  document.querySelectorAll('input[name=scope]').forEach(function (el) {
    el.checked = el.value === scope;
    el.addEventListener('change', function () { scope = el.value; history = []; last = null; refresh(); });
  });
  refresh();
  setInterval(refresh, every);
})();
`;

const STYLE = `
*{box-sizing:border-box}body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f8fafc;color:#0f172a}
header{display:flex;gap:16px;align-items:center;padding:12px 20px;background:#0f172a;color:#f8fafc;flex-wrap:wrap}
header h1{font-size:18px;margin:0}header .muted{color:#94a3b8}main{padding:16px 20px;display:grid;gap:16px;
grid-template-columns:repeat(auto-fit,minmax(320px,1fr))}section{background:#fff;border:1px solid #e2e8f0;
border-radius:8px;padding:12px 16px}section.wide{grid-column:1/-1}h2{font-size:14px;margin:0 0 8px;color:#334155}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:8px}.card{padding:8px;border-radius:6px;
background:#f1f5f9}.card b{display:block;font-size:22px}.card span{color:#475569;font-size:12px}
table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;text-align:right;border-bottom:1px solid #e2e8f0}
th:first-child,td:first-child{text-align:left}.muted{color:#64748b}.badge{padding:2px 8px;border-radius:10px;
background:#64748b;color:#fff}.badge.healthy{background:#16a34a}.badge.degraded{background:#d97706}
.badge.unavailable{background:#dc2626}svg{width:100%;height:auto}.grid{stroke:#e2e8f0}.axis{font-size:10px;fill:#64748b}
#legend span{margin-right:12px;font-size:12px}#legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
input,select,button{font:inherit;padding:4px 8px}button{cursor:pointer}ol{margin:4px 0 8px;padding-left:20px}
ul{padding-left:18px;margin:0}#admin-result{margin-top:8px}
`;

/** The whole page. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>infercache dashboard</title><style>${STYLE}</style></head>
<body data-refreshes="0">
<header><h1>infercache</h1><span id="namespace" class="muted">-</span><span id="health" class="badge">…</span>
<span>Redis: <span id="redis">-</span></span><span>live instances: <b id="instances">-</b></span>
<label><input type="radio" name="scope" value="fleet"> fleet</label>
<label><input type="radio" name="scope" value="instance"> this instance</label>
<span class="muted">updated <span id="updated">never</span></span><span id="status" class="muted"></span></header>
<main>
<section class="wide"><div class="cards">
<div class="card"><b id="hit-rate">-</b><span>hit rate</span></div>
<div class="card"><b id="calls">-</b><span>calls</span></div>
<div class="card"><b id="hits">-</b><span>hits</span></div>
<div class="card"><b id="misses">-</b><span>misses</span></div>
<div class="card"><b id="time-saved">-</b><span>compute time saved</span></div>
<div class="card"><b id="cost-saved">-</b><span>cost saved</span></div>
<div class="card"><b id="p95-hit">-</b><span>p95 hit latency</span></div>
<div class="card"><b id="p95-miss">-</b><span>p95 miss latency</span></div>
<div class="card"><b id="errors">-</b><span>errors</span></div>
</div></section>
<section class="wide"><h2>Hit rate over time</h2><svg id="chart" viewBox="0 0 600 180" role="img" aria-label="hit rate over time"></svg>
<div id="legend"></div></section>
<section class="wide"><h2>Per kind</h2><table><thead><tr><th>kind</th><th>calls</th><th>hits</th><th>misses</th>
<th>stale</th><th>bypasses</th><th>errors</th><th>hit rate</th><th>time saved</th><th>cost saved</th><th>TTL</th></tr></thead>
<tbody id="kinds"></tbody></table></section>
<section><h2>Latency, fleet (ms buckets; green hit, amber miss)</h2><svg id="latency" viewBox="0 0 600 160" role="img" aria-label="latency histogram"></svg></section>
<section><h2>Bypasses and errors</h2><ul id="reasons"></ul></section>
<section><h2>Hot keys</h2><ul id="hot"></ul></section>
<section><h2>Invalidate</h2>
<p><input id="token" type="password" placeholder="admin token" autocomplete="off"> <button id="save-token">Use token</button></p>
<p><select id="kind"></select> <button id="invalidate-kind">Invalidate kind</button></p>
<p><input id="tag" placeholder="tag, e.g. region:eu"> <button id="invalidate-tag">Invalidate tag</button></p>
<div id="admin-result" class="muted"></div></section>
</main>
<script>${DASHBOARD_SCRIPT}</script>
</body></html>
`;
