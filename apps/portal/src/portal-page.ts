/** The portal's one page: services and instances, kept live by server-sent events from /events. */
export const portalPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Services — nestjs-etcd-discovery</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
  h1 { font-size: 1.3rem; }
  section { margin: 1rem 0; }
  h2 { font-size: 1.05rem; margin: 0 0 .3rem; }
  table { border-collapse: collapse; min-width: 28rem; }
  th, td { text-align: left; padding: .2rem .8rem .2rem 0; border-bottom: 1px solid #ddd; }
  .muted { color: #777; }
</style>
</head>
<body>
<h1>Live services <span id="status" class="muted">(connecting…)</span></h1>
<div id="services"></div>
<script>
  const status = document.getElementById('status');
  const container = document.getElementById('services');
  const escape = (text) => String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
  function render(directory) {
    const names = Object.keys(directory).sort();
    container.innerHTML = names.length === 0 ? '<p class="muted">No service registered.</p>' : names.map((name) => {
      const rows = directory[name].map((e) =>
        '<tr class="instance"><td>' + escape(e.id) + '</td><td>' + escape(e.address) + '</td><td>' + escape(e.version ?? '') +
        '</td><td>' + escape(Object.entries(e.metadata).map(([k, v]) => k + '=' + v).join(', ')) + '</td></tr>').join('');
      return '<section data-service="' + escape(name) + '"><h2>' + escape(name) + ' — <span class="count">' + directory[name].length +
        '</span> instance(s)</h2><table><tr><th>id</th><th>address</th><th>version</th><th>metadata</th></tr>' + rows + '</table></section>';
    }).join('');
  }
  const events = new EventSource('/events');
  events.onopen = () => { status.textContent = '(live)'; };
  events.onerror = () => { status.textContent = '(reconnecting…)'; };
  events.onmessage = (message) => render(JSON.parse(message.data));
</script>
</body>
</html>
`;
