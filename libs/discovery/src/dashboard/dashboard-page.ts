import { dashboardStyle } from './dashboard-style.js';

/**
 * The dashboard's one page: no build step, nothing loaded from elsewhere. It reads `<its path>/api`
 * once and then follows `<its path>/events` (server-sent events), so it works under any global
 * prefix or mount path. Every value is escaped before it reaches the document.
 */
export const dashboardPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Discovery — nestjs-etcd-discovery</title>
<style>
${dashboardStyle}</style>
</head>
<body>
<header>
  <h1>Discovery</h1>
  <span class="meta" id="summary">…</span>
  <span class="meta" id="own"></span>
  <span id="live">connecting…</span>
</header>
<main>
  <div id="services"><p class="muted">Reading the catalog…</p></div>
  <aside><h2>Last changes</h2><ol id="timeline"><li class="muted">None yet.</li></ol></aside>
</main>
<script>
  const base = location.pathname.replace(/\\/+$/, '');
  const $ = (id) => document.getElementById(id);
  const entities = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  const escape = (text) => String(text).replace(/[&<>"']/g, (c) => entities[c]);
  const time = (at) => new Date(at).toLocaleTimeString();
  const heads = ['id', 'address', 'zone', 'version', 'status', 'weight', 'lease age', 'calls from here', 'handles'];
  const headRow = '<tr>' + heads.map((head) => '<th>' + head + '</th>').join('') + '</tr>';
  let last;

  function age(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
  }

  function chips(list, total, kind) {
    return list.map((p) => {
      const partial = p.instances < total;
      return '<span class="chip ' + kind + (partial ? ' partial' : '') + '" data-pattern="' + escape(p.pattern) + '">' +
        escape(p.pattern) + (partial ? '<span class="n">' + p.instances + '/' + total + '</span>' : '') + '</span>';
    }).join('');
  }

  function handles(instance) {
    if (!instance.lacks) return '<span class="muted">all</span>';
    const lacks = [...instance.lacks.patterns, ...instance.lacks.events];
    return '<span class="lacks">lacks ' + lacks.map(escape).join(', ') + '</span>';
  }

  const percent = (rate) => (rate * 100).toFixed(rate > 0 && rate < 0.1 ? 1 : 0) + ' %';
  const ms = (value) => value === undefined ? '—' : value + ' ms';
  const rate = (value, warn, what) =>
    '<span class="' + (value > 0 ? warn : '') + '">' + percent(value) + ' ' + what + '</span>';

  function calls(counts) {
    if (!counts) return '0';
    const m = counts.lastMinute;
    return '<span class="total">' + counts.calls + '</span>' +
      (counts.unreachable ? ' <span class="status-down">(' + counts.unreachable + ' unreachable)</span>' : '') +
      (counts.inFlight ? ' <span class="muted">· ' + counts.inFlight + ' in flight</span>' : '') +
      '<div class="minute muted">last min: ' + m.calls + ' · ' + rate(m.errorRate, 'status-down', 'errors') +
      ' · ' + rate(m.timeoutRate, 'status-draining', 'timeouts') +
      ' · p50 ' + ms(m.p50Ms) + ' · p99 ' + ms(m.p99Ms) + '</div>';
  }

  function condition(instance) {
    return (instance.ejectedUntil
      ? ' <span class="badge warn ejected">ejected until ' + time(instance.ejectedUntil) + '</span>'
      : '') + (instance.held ? ' <span class="badge warn held">held by self-preservation</span>' : '') +
      (instance.drained ? ' <span class="badge warn drained">drained</span>' : '');
  }

  function pairs(record, joiner) {
    return Object.entries(record).map(([name, value]) => escape(name) + '=' + escape(value)).join(joiner);
  }

  function policy(p) {
    if (!p) return '';
    const parts = [];
    if (p.split) parts.push('split ' + pairs(p.split, ' '));
    if (p.calls) parts.push('calls ' + pairs(p.calls, ' '));
    if (p.drained.length > 0) parts.push('drained ' + p.drained.map((d) => escape(d.id)).join(', '));
    if (Object.keys(p.weights).length > 0) parts.push('weights ' + pairs(p.weights, ' '));
    return '<div class="policy">policy' + (p.revision === undefined ? '' : ' (rev ' + p.revision + ')') + ': ' +
      (parts.join(' · ') || 'nothing in force') + (p.rejected
      ? ' <span class="badge warn rejected">rev ' + p.rejected.revision + ' rejected: ' + escape(p.rejected.problem) +
        '</span>'
      : '') + '</div>';
  }

  function registrations(list) {
    if (list.length === 0) return 'this app registers nothing';
    return 'this app: ' + list.map((r) => {
      const state = r.state === 'registered' ? 'status-up' : 'status-draining';
      return escape(r.service) + ' <span class="' + state + '">' + escape(r.state) + '</span>';
    }).join(', ');
  }

  function row(i, at) {
    return '<tr class="instance" data-address="' + escape(i.address) + '" data-status="' + escape(i.status) + '">' +
      '<td class="mono">' + escape(i.id) + '</td><td class="mono">' + escape(i.address) + '</td>' +
      '<td>' + escape(i.zone ?? '—') + '</td><td>' + escape(i.version ?? '—') + '</td>' +
      '<td class="status-' + escape(i.status) + '">' + escape(i.status) + condition(i) + '</td>' +
      '<td>' + i.weight + '</td>' +
      '<td>' + (i.registeredAt === undefined ? '—' : age(at - i.registeredAt)) + '</td>' +
      '<td class="calls">' + calls(i.calls) + '</td><td>' + handles(i) + '</td></tr>';
  }

  function section(service, at) {
    const total = service.instances.length;
    const rows = service.instances.map((i) => row(i, at)).join('');
    return '<section class="service" data-service="' + escape(service.service) + '"><h2>' + escape(service.service) +
      ' <span class="badge"><span class="count">' + total + '</span> instance(s)</span>' +
      (service.consistent ? '' : ' <span class="badge warn">instances disagree</span>') + '</h2>' +
      (service.patterns.length + service.events.length === 0
        ? '<div class="chips muted">publishes no patterns</div>'
        : '<div class="chips">' + chips(service.patterns, total, 'message') +
          chips(service.events, total, 'event') + '</div>') + policy(service.policy) +
      '<table>' + headRow + rows + '</table></section>';
  }

  function change(c) {
    return '<li class="change"><span class="t-' + c.type + '">' + c.type + '</span> ' + escape(c.service) +
      ' <span class="mono">' + escape(c.address) + '</span>' + (c.detail ? ' — ' + escape(c.detail) : '') +
      ' <span class="muted">' + time(c.at) + '</span></li>';
  }

  function render(snapshot) {
    last = snapshot;
    const instances = snapshot.services.reduce((sum, s) => sum + s.instances.length, 0);
    $('summary').textContent =
      snapshot.namespace + ' · ' + snapshot.services.length + ' service(s) · ' + instances + ' instance(s)';
    $('own').innerHTML = registrations(snapshot.registrations);
    $('services').innerHTML = snapshot.services.length === 0
      ? '<p class="muted">No service is registered under ' + escape(snapshot.namespace) + '.</p>'
      : snapshot.services.map((service) => section(service, snapshot.at)).join('');
    $('timeline').innerHTML = snapshot.timeline.length === 0
      ? '<li class="muted">None yet.</li>'
      : snapshot.timeline.map(change).join('');
  }

  fetch(base + '/api').then((r) => r.json())
    .then((snapshot) => { if (!last) render(snapshot); }).catch(() => undefined);
  const events = new EventSource(base + '/events');
  events.onopen = () => { $('live').textContent = 'live'; $('live').className = 'on'; };
  events.onerror = () => { $('live').textContent = 'reconnecting…'; $('live').className = ''; };
  events.onmessage = (message) => render(JSON.parse(message.data));
</script>
</body>
</html>
`;
