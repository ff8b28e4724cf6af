/**
 * The demo's page: plain HTML and a little script on top of the JSON API, served as this one
 * string (no framework, no build step).
 */
const escape = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** The icon, inline: a small tile (a tessera), so the browser asks the server for no favicon. */
const ICON = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2f6f5e"/></svg>',
)}`;

// The page's script, run by the browser as written here (String.raw keeps its backslashes). It
// holds no template literals: this file would interpolate their `${…}`.
const SCRIPT = String.raw`
const $ = (id) => document.getElementById(id);
const time = (ms) => new Date(ms).toLocaleString();
const SIGNED_OUT =
  'You were signed out: this device was logged out from another one, or its session expired. Log in again to go on.';

/** A request the server refused or could not answer, with the message to show. */
class Problem extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Who the page shows as logged in, to notice when that session ends elsewhere. */
let shownUser = null;

async function api(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new Problem('The demo server could not be reached. Is it still running?', 0, 'NETWORK');
  }
  const data = await response.json().catch(() => null);
  if (response.ok) return data;
  const code = data?.error || 'HTTP_' + response.status;
  const retry = response.status === 503 ? ' Try again in a moment.' : '';
  const message = data?.message || 'The server answered ' + response.status + ' (' + code + ').';
  throw new Problem(message + retry, response.status, code);
}

/** Shows one message in the alert region (an empty message clears it). */
function say(message, kind) {
  $('alert').className = kind || '';
  $('alert').textContent = message;
}

function renderPrefs(prefs) {
  const entries = Object.entries(prefs);
  $('prefs').replaceChildren(...entries.flatMap(([name, value]) => {
    const dt = document.createElement('dt');
    dt.textContent = name;
    const dd = document.createElement('dd');
    dd.textContent = typeof value === 'string' ? value : JSON.stringify(value);
    return [dt, dd];
  }));
  $('no-prefs').hidden = entries.length > 0;
}

function renderDevices(devices) {
  $('devices').replaceChildren(...devices.map((d) => {
    const li = document.createElement('li');
    const about = document.createElement('div');
    about.className = 'device';
    const name = document.createElement('strong');
    name.textContent = d.userAgent || 'Unknown browser';
    const when = document.createElement('div');
    when.className = 'muted';
    when.textContent = (d.current ? 'This device. ' : '') + 'Since ' + time(d.createdAt) + ', last seen ' + time(d.lastSeenAt);
    about.append(name, when);
    li.append(about);
    if (!d.current) {
      const revoke = document.createElement('button');
      revoke.type = 'button';
      revoke.textContent = 'Revoke';
      revoke.setAttribute('aria-label', 'Revoke ' + name.textContent + ', since ' + time(d.createdAt));
      revoke.onclick = () => act(() => api('POST', '/api/devices/' + encodeURIComponent(d.id) + '/revoke'));
      li.append(revoke);
    }
    return li;
  }));
}

async function refresh() {
  const s = await api('GET', '/api/session');
  if (shownUser && !s.user) say(SIGNED_OUT, 'notice');
  shownUser = s.user;
  $('count').textContent = s.count;
  $('anon').hidden = !!s.user;
  $('known').hidden = !s.user;
  renderPrefs(await api('GET', '/api/prefs'));
  if (!s.user) return;
  $('user').textContent = s.user;
  try {
    renderDevices(await api('GET', '/api/devices'));
  } catch (error) {
    // The store keeps no index of users (the cookie store): say so where the list would be.
    if (!(error instanceof Problem) || error.status !== 501) throw error;
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = error.message;
    $('devices').replaceChildren(li);
  }
}

/** Runs one action of the page: clears the last message and shows why the action failed, if it did. */
async function attempt(action) {
  const hadFocus = document.activeElement !== document.body;
  say('');
  try {
    await action();
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    if (error.code === 'NOT_LOGGED_IN' && shownUser) await attempt(refresh);
    else say(error.message, 'error');
  }
  // What had focus may be gone (a revoked device) or hidden (after logging out): move it on.
  const focused = document.activeElement;
  if (hadFocus && (focused === document.body || focused.closest('[hidden]')))
    ($('known').hidden ? $('user-name') : $('devices-heading')).focus();
}

/** An action that changes the session, then shows the session as it now is. */
const act = (action) => attempt(async () => {
  // The flash messages of this visit were about what came before: they go once it moves on.
  for (const flash of document.querySelectorAll('.flash')) flash.remove();
  await action();
  await refresh();
});

$('visit').onclick = () => act(() => api('POST', '/api/count'));
$('login').onsubmit = (event) => {
  event.preventDefault();
  const user = new FormData(event.target).get('user');
  // Reloaded, the page shows the welcome flash that the login queued.
  attempt(async () => {
    await api('POST', '/api/login', { user });
    location.reload();
  });
};
$('logout').onclick = () => act(async () => {
  await api('POST', '/api/logout');
  shownUser = null;
});
$('revoke-others').onclick = () => act(() => api('POST', '/api/devices/revoke-others'));
$('prefs-form').onsubmit = (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const path = '/api/prefs/' + encodeURIComponent(form.get('name'));
  act(() => api('PUT', path, { value: form.get('value') }));
};
$('destroy').onclick = () => act(async () => {
  await api('POST', '/api/destroy');
  shownUser = null;
});
attempt(refresh);
`;

/** The page, with the flash messages of this visit shown once. */
export function renderPage(flash: string[]): string {
  const messages = flash.map((m) => `<p class="flash">${escape(m)}</p>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tessera demo</title>
<link rel="icon" href="${ICON}">
<style>
  *, *::before, *::after { box-sizing: border-box; }
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
  button { font: inherit; padding: .3rem .8rem; margin: .2rem 0; cursor: pointer; }
  input { font: inherit; padding: .3rem; width: 12rem; max-width: 100%; }
  :focus-visible { outline: 3px solid #1a5fb4; outline-offset: 2px; }
  .row { display: flex; flex-wrap: wrap; align-items: center; gap: .3rem .8rem; margin: .5rem 0; }
  .field { display: inline-flex; flex-wrap: wrap; align-items: center; gap: .3rem; }
  .flash { background: #e8f4e8; border: 1px solid #9c9; padding: .5rem 1rem; border-radius: 4px; }
  #alert:not(:empty) { background: #fdecea; border: 1px solid #c9302c; padding: .5rem 1rem; border-radius: 4px; }
  #alert.notice:not(:empty) { background: #fff4d6; border-color: #b58105; }
  .devices { list-style: none; padding: 0; margin: 0; }
  .devices li { display: flex; align-items: center; justify-content: space-between; gap: .6rem; padding: .4rem 0; border-bottom: 1px solid #ddd; }
  .device { min-width: 0; overflow-wrap: anywhere; font-size: .9rem; }
  .devices button { flex: none; }
  .prefs { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .5rem 0; }
  .prefs dt { font-weight: 600; } .prefs dd { margin: 0; overflow-wrap: anywhere; }
  .muted { color: #666; }
</style>
</head>
<body>
<main>
<h1>tessera demo</h1>
${messages}
<div id="alert" role="alert"></div>
<section>
  <p class="row"><span>Visits counted in this session: <strong id="count" aria-live="polite">…</strong></span> <button type="button" id="visit">Count a visit</button></p>
</section>
<section id="anon">
  <form id="login" class="row">
    <span class="field"><label for="user-name">Log in as</label> <input id="user-name" name="user" required pattern="[A-Za-z0-9_.@\\-]{1,64}" maxlength="64" autocomplete="username" placeholder="alice" aria-describedby="user-hint"></span>
    <button>Log in</button>
  </form>
  <p id="user-hint" class="muted">1 to 64 letters, digits or _ . @ - (no password: this is a demo).</p>
</section>
<section id="known" hidden>
  <p class="row"><span>Logged in as <strong id="user"></strong>.</span> <button type="button" id="logout">Log out</button></p>
  <h2 id="devices-heading" tabindex="-1">Your devices</h2>
  <ul id="devices" class="devices" aria-labelledby="devices-heading"></ul>
  <p><button type="button" id="revoke-others">Log out everywhere else</button></p>
</section>
<section aria-labelledby="prefs-heading">
  <h2 id="prefs-heading">Preferences</h2>
  <form id="prefs-form" class="row">
    <span class="field"><label for="pref-name">Name</label> <input id="pref-name" name="name" required pattern="[A-Za-z0-9_\\-]{1,64}" maxlength="64" placeholder="theme"></span>
    <span class="field"><label for="pref-value">Value</label> <input id="pref-value" name="value" placeholder="dark"></span>
    <button>Save preference</button>
  </form>
  <dl id="prefs" class="prefs"></dl>
  <p id="no-prefs" class="muted">No preferences in this session yet.</p>
</section>
<p><button type="button" id="destroy">Forget this session</button></p>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
