// Helpers shared by the Node scripts the Go tests run: a pusher-js client
// wired to the test harness, waiting on events with a deadline, and step
// reporting ("ok <step>" lines the Go side checks).
'use strict';

const Pusher = require('pusher-js');

const env = process.env;
const harness = env.HARNESS_URL;

// The whole script gets a deadline, so a missing event fails instead of
// hanging until the Go side kills node.
const deadline = setTimeout(() => {
  console.error('script timed out');
  process.exit(2);
}, 90000);

async function post(path, body) {
  const res = await fetch(harness + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

// client connects as user, authorizing channels and sign-in through the
// harness, which signs with shared/signature as the auth function does.
function client(user, key = env.PUSHER_KEY) {
  const handler = (path, body) => (params, callback) => {
    post(path, body(params)).then((data) => callback(null, data), (err) => callback(err, null));
  };
  return new Pusher(key, {
    wsHost: env.PUSHER_HOST,
    wsPort: Number(env.PUSHER_PORT),
    forceTLS: false,
    enabledTransports: ['ws'],
    cluster: 'mt1',
    disableStats: true,
    channelAuthorization: {
      customHandler: handler('/auth/channel?user=' + encodeURIComponent(user), (p) => ({
        socket_id: p.socketId, channel_name: p.channelName, key,
      })),
    },
    userAuthentication: {
      customHandler: handler('/auth/user', (p) => ({ socket_id: p.socketId, user })),
    },
  });
}

// once resolves with the next event on target (a channel, a connection,
// pusher.user), or rejects after ms.
function once(target, event, ms = 20000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out waiting for ' + event)), ms);
    const handler = (data, metadata) => {
      clearTimeout(timer);
      target.unbind(event, handler);
      resolve({ data, metadata });
    };
    target.bind(event, handler);
  });
}

async function connect(...clients) {
  await Promise.all(clients.map((c) => (c.connection.state === 'connected' ? null : once(c.connection, 'connected'))));
}

async function subscribe(c, name) {
  const ch = c.subscribe(name);
  const ok = once(ch, 'pusher:subscription_succeeded');
  const failed = once(ch, 'pusher:subscription_error').then((e) => {
    throw new Error(`subscription to ${name} failed: ${JSON.stringify(e.data)}`);
  });
  const res = await Promise.race([ok, failed]);
  failed.catch(() => {});
  return { ch, data: res.data };
}

function step(name) {
  console.log('ok ' + name);
}

function assert(cond, msg) {
  if (!cond) throw new Error('assertion failed: ' + msg);
}

function run(main) {
  main().then(
    () => {
      clearTimeout(deadline);
      process.exit(0);
    },
    (err) => {
      console.error(err && err.stack ? err.stack : err);
      process.exit(1);
    },
  );
}

module.exports = { Pusher, env, post, client, once, connect, subscribe, step, assert, run };
