/**
 * The demo's page: plain HTML and a little script on top of the JSON API.
 */
const escape = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** The page, with the flash messages of this visit shown once. */
export function renderPage(flash: string[]): string {
  const messages = flash.map((m) => `<p class="flash">${escape(m)}</p>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tessera demo</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  button { font: inherit; padding: .3rem .8rem; margin: .2rem 0; cursor: pointer; }
  input { font: inherit; padding: .3rem; }
  .flash { background: #e8f4e8; border: 1px solid #9c9; padding: .5rem 1rem; border-radius: 4px; }
  table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: .3rem; border-bottom: 1px solid #ddd; font-size: .9rem; }
  .muted { color: #777; }
</style>
</head>
<body>
<h1>tessera demo</h1>
${messages}
<section>
  <p>Visits counted in this session: <strong id="count">…</strong> <button id="visit">Count a visit</button></p>
</section>
<section id="anon">
  <form id="login"><label>Log in as <input name="user" required pattern="[A-Za-z0-9_.@-]{1,64}" placeholder="alice"></label> <button>Log in</button></form>
</section>
<section id="known" hidden>
  <p>Logged in as <strong id="user"></strong>. <button id="logout">Log out</button></p>
  <h2>Your devices</h2>
  <table><thead><tr><th>Device</th><th>Since</th><th>Last seen</th><th></th></tr></thead><tbody id="devices"></tbody></table>
  <p><button id="revoke-others">Log out everywhere else</button></p>
</section>
<p class="muted"><button id="destroy">Forget this session</button></p>
<script>
const api = (method, path, body) => fetch(path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined }).then((r) => r.json());
const $ = (id) => document.getElementById(id);
const time = (ms) => new Date(ms).toLocaleString();
async function refresh() {
  const s = await api('GET', '/api/session');
  $('count').textContent = s.count;
  $('anon').hidden = !!s.user;
  $('known').hidden = !s.user;
  if (!s.user) return;
  $('user').textContent = s.user;
  const devices = await api('GET', '/api/devices');
  $('devices').replaceChildren(...devices.map((d) => {
    const tr = document.createElement('tr');
    for (const text of [(d.userAgent || 'unknown') + (d.current ? ' (this one)' : ''), time(d.createdAt), time(d.lastSeenAt)]) {
      const td = document.createElement('td'); td.textContent = text; tr.append(td);
    }
    const td = document.createElement('td');
    if (!d.current) {
      const b = document.createElement('button'); b.textContent = 'Revoke';
      b.onclick = async () => { await api('POST', '/api/devices/' + d.id + '/revoke'); refresh(); };
      td.append(b);
    }
    tr.append(td);
    return tr;
  }));
}
$('visit').onclick = async () => { await api('POST', '/api/count'); refresh(); };
$('login').onsubmit = async (e) => { e.preventDefault(); await api('POST', '/api/login', { user: new FormData(e.target).get('user') }); location.reload(); };
$('logout').onclick = async () => { await api('POST', '/api/logout'); refresh(); };
$('revoke-others').onclick = async () => { await api('POST', '/api/devices/revoke-others'); refresh(); };
$('destroy').onclick = async () => { await api('POST', '/api/destroy'); refresh(); };
refresh();
</script>
</body>
</html>
`;
}
