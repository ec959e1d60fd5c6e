// Laravel Echo (with pusher-js under Node) against the local stack, set up
// the way the README tells an app to set it up: bearerToken for the auth
// endpoint, private() and join() without prefixes, and a leading dot on
// event names, which herald broadcasts as given (no App\Events\ namespace).
// A listener without the dot must see nothing: that is the confusion the
// README explains. Prints one JSON line; exits non-zero on failure.
//
// Environment: BASE_URL (the local stack's HTTP functions), TIMEOUT_MS.
'use strict';

const Pusher = require('pusher-js');
// laravel-echo 2.5's CommonJS build cannot be required (its package is
// "type": "module"); its ES module build is what bundlers use anyway. ES
// module resolution ignores NODE_PATH and finds infra/node/node_modules
// from this file's folder.
const loadEcho = () => import('laravel-echo').then((m) => m.default);

const base = process.env.BASE_URL;
const timeout = Number(process.env.TIMEOUT_MS || 20000);

function within(ms, what, promise) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error('timed out waiting for ' + what)), ms); }),
  ]).finally(() => clearTimeout(t));
}

async function getJSON(path, init) {
  const res = await fetch(base + path, init);
  const body = await res.json();
  if (!res.ok) throw new Error(path + ': ' + res.status + ' ' + JSON.stringify(body));
  return body;
}

(async () => {
  const Echo = await loadEcho();
  const cfg = await getJSON('/dev/config');
  const { token } = await getJSON('/dev/token?sub=42&name=Alice');

  const echo = new Echo({
    broadcaster: 'pusher',
    Pusher,
    key: cfg.key,
    cluster: cfg.cluster,
    wsHost: cfg.wsHost,
    wsPort: cfg.wsPort,
    forceTLS: cfg.forceTLS,
    enabledTransports: ['ws'],
    authEndpoint: base + '/broadcasting/auth',
    bearerToken: token,
  });

  const result = {};
  let undotted = 0;
  const inbox = echo.private('App.Models.User.42');
  inbox.listen('EmailSent', () => { undotted++; }); // App\Events\EmailSent: never sent
  const got = new Promise((resolve) => inbox.listen('.EmailSent', resolve));

  const subscribed = new Promise((resolve, reject) => inbox.subscribed(resolve).error(reject));
  const here = new Promise((resolve, reject) => echo.join('online').here(resolve).error(reject));
  await within(timeout, 'the private subscription', subscribed);
  const members = await within(timeout, 'presence-online', here);
  result.here = members.map((m) => m.name);

  const subject = 'Echo check ' + Math.random().toString(36).slice(2, 8);
  await getJSON('/dev/send-email', {
    method: 'POST',
    // Node sends no Origin; the /dev writes take only the page's own.
    headers: { 'Content-Type': 'application/json', Origin: base },
    body: JSON.stringify({ to: '42', subject, body: 'through Laravel Echo' }),
  });
  const e = await within(timeout, '.EmailSent', got);
  if (e.subject !== subject) throw new Error('received ' + JSON.stringify(e));
  result.subject = e.subject;
  result.channel = inbox.name;
  result.undotted_listener_calls = undotted;
  echo.disconnect();
  console.log(JSON.stringify(result));
})().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
