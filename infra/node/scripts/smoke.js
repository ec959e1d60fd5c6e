// make smoke: checks a deployed stack (or the local one) end to end, the
// way an app uses it. It mints a token with the JWT secret, connects
// pusher-js to the provider, subscribes to a private channel through the
// AuthFunction, publishes an event through the PublishFunction signed with
// the publish credentials (the npm pusher package), and waits for the event
// to arrive. Each step is printed; a failure says what to check. Exits 0 on
// success, 1 on a failed check, 2 on missing settings.
//
// Environment (the Makefile's variables):
//   API                 the stack's ApiUrl (https://abc.execute-api.eu-west-1.amazonaws.com/)
//   PUBLISH_APP_ID, PUBLISH_APP_KEY, PUBLISH_APP_SECRET   herald's publish credentials
//   AUTH_JWT_SECRET     the HS256 secret the AuthFunction verifies tokens with
//   PUSHER_KEY          the key pusher-js connects with (Pusher app key, Ably key name)
//   PUSHER_CLUSTER      Pusher's cluster (default mt1), or
//   WS_HOST             host:port of a Pusher-compatible WebSocket server
//                       (127.0.0.1:6001 locally; realtime-pusher.ably.io:443 for Ably)
//   SMOKE_USER          the token's sub (default smoke); CHANNEL the private
//                       channel (default private-App.Models.User.<SMOKE_USER>)
//   TIMEOUT_MS          per step (default 15000)
// Without API it checks the running `make dev` with the local credentials.
'use strict';

const Pusher = require('pusher');
const PusherJS = require('pusher-js');

const env = process.env;
const timeout = Number(env.TIMEOUT_MS || 15000);

function fail(step, what, check) {
  console.log(`smoke: FAILED at ${step}: ${what}`);
  for (const c of [].concat(check)) console.log(`  check: ${c}`);
  process.exit(1);
}

function within(ms, promise) {
  let t;
  return Promise.race([promise, new Promise((resolve) => { t = setTimeout(() => resolve({ timeout: true }), ms); })])
    .finally(() => clearTimeout(t));
}

// Without API, the running `make dev` with its local credentials.
if (!env.API) {
  Object.assign(env, {
    API: 'http://127.0.0.1:3000/', PUBLISH_APP_ID: 'local', PUBLISH_APP_KEY: 'local-key', PUBLISH_APP_SECRET: 'local-secret',
    AUTH_JWT_SECRET: 'herald-local-jwt-secret-for-development-only', PUSHER_KEY: 'local-key', WS_HOST: '127.0.0.1:6001',
  }, Object.fromEntries(Object.entries(env).filter(([, v]) => v)));
  console.log('smoke: no API given: checking the local stack (make dev) with its local credentials');
}

const missing = ['API', 'PUBLISH_APP_ID', 'PUBLISH_APP_KEY', 'PUBLISH_APP_SECRET', 'AUTH_JWT_SECRET', 'PUSHER_KEY']
  .filter((k) => !env[k]);
if (missing.length) {
  console.log('usage: make smoke API=<ApiUrl> PUBLISH_APP_ID=... PUBLISH_APP_KEY=... PUBLISH_APP_SECRET=... AUTH_JWT_SECRET=... PUSHER_KEY=... [PUSHER_CLUSTER=eu | WS_HOST=host:port]');
  console.log(`smoke: missing ${missing.join(', ')}`);
  process.exit(2);
}

(async () => {
  const api = new URL(env.API);
  const base = api.origin;
  const sub = env.SMOKE_USER || 'smoke';
  const channel = env.CHANNEL || `private-App.Models.User.${sub}`;
  const event = 'SmokeTest';
  const nonce = Math.random().toString(36).slice(2, 10);

  // 1. The token, as an app's backend mints it.
  const { SignJWT } = await import('jose');
  let token;
  try {
    token = await new SignJWT({ name: 'Smoke test' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(sub).setIssuedAt().setExpirationTime('5m')
      .sign(new TextEncoder().encode(env.AUTH_JWT_SECRET));
  } catch (e) {
    fail('1/5 token', e.message, 'AUTH_JWT_SECRET');
  }
  console.log(`1/5 token: HS256 for sub=${sub}, valid 5 minutes`);

  // 2. pusher-js to the provider.
  const opts = { channelAuthorization: { endpoint: `${base}/broadcasting/auth`, transport: 'ajax', headers: { Authorization: `Bearer ${token}` } } };
  let where;
  if (env.WS_HOST) {
    const [host, port] = env.WS_HOST.split(':');
    const tls = port === '443';
    Object.assign(opts, { cluster: 'mt1', wsHost: host, wsPort: Number(port || 80), wssPort: Number(port || 443), forceTLS: tls, enabledTransports: tls ? ['wss'] : ['ws'] });
    where = `${tls ? 'wss' : 'ws'}://${env.WS_HOST}`;
  } else {
    opts.cluster = env.PUSHER_CLUSTER || 'mt1';
    where = `Pusher cluster ${opts.cluster}`;
  }
  const client = new PusherJS(env.PUSHER_KEY, opts);
  const connected = await within(timeout, new Promise((resolve) => {
    client.connection.bind('connected', () => resolve({ ok: true }));
    client.connection.bind('error', (e) => resolve({ error: e }));
  }));
  if (!connected.ok) {
    const why = connected.timeout ? 'no connection' : JSON.stringify(connected.error && (connected.error.error || connected.error));
    fail('2/5 connect', `pusher-js to ${where} with key ${env.PUSHER_KEY}: ${why}`,
      ['PUSHER_KEY is the provider\'s app key (Pusher) or key name (Ably), not PUBLISH_APP_KEY',
        env.WS_HOST ? 'WS_HOST is the provider\'s WebSocket host:port' : 'PUSHER_CLUSTER is the Pusher app\'s cluster']);
  }
  console.log(`2/5 connect: pusher-js connected to ${where} (socket ${client.connection.socket_id})`);

  // 3. The private subscription, signed by the AuthFunction.
  const ch = client.subscribe(channel);
  const received = new Promise((resolve) => ch.bind(event, resolve));
  const subscribed = await within(timeout, new Promise((resolve) => {
    ch.bind('pusher:subscription_succeeded', () => resolve({ ok: true }));
    ch.bind('pusher:subscription_error', (e) => resolve({ error: e }));
    client.connection.bind('error', (e) => resolve({ error: e }));
  }));
  if (!subscribed.ok) {
    const e = subscribed.error || {};
    const status = e.status;
    const checks = {
      401: 'AUTH_JWT_SECRET is the one the AuthFunction verifies with (the provider secret\'s AUTH_JWT_SECRET)',
      403: `the channel rules (CHANNELS) let sub=${sub} join ${channel}; set SMOKE_USER or CHANNEL to one they allow`,
      404: 'API is the stack\'s ApiUrl output',
    };
    const data = e.data || (e.error && e.error.data);
    const providerRefused = data && /signature|auth/i.test(JSON.stringify(data));
    fail('3/5 subscribe', `${channel} through ${base}/broadcasting/auth: ${subscribed.timeout ? 'no answer' : (status ? `status ${status}` : JSON.stringify(data || e))}`,
      checks[status] || (providerRefused
        ? 'the provider refused herald\'s signature: PUSHER_APP_KEY / PUSHER_APP_SECRET (or ABLY_KEY) in the provider secret belong to the app PUSHER_KEY names'
        : `API (${base}) answers POST /broadcasting/auth, and its CORS and the AuthFunction's logs`));
  }
  console.log(`3/5 subscribe: ${channel}, signed by ${base}/broadcasting/auth`);

  // 4. The publish, signed with herald's publish credentials.
  const publisher = new Pusher({
    appId: env.PUBLISH_APP_ID, key: env.PUBLISH_APP_KEY, secret: env.PUBLISH_APP_SECRET,
    host: api.hostname, port: api.port || undefined, useTLS: api.protocol === 'https:',
  });
  try {
    await publisher.trigger(channel, event, { nonce });
  } catch (e) {
    const status = e.status;
    const checks = {
      401: 'PUBLISH_APP_KEY and PUBLISH_APP_SECRET are herald\'s publish credentials (the provider secret\'s PUBLISH_APP_SECRET), not the provider\'s',
      404: 'PUBLISH_APP_ID is the stack\'s (parameter PublishAppId), and API its ApiUrl',
      502: 'the provider refused herald\'s credentials: PUSHER_APP_* or ABLY_KEY in the provider secret',
      503: 'the provider or the queue was unavailable: try again, then the PublishFunction\'s logs',
    };
    fail('4/5 publish', `POST ${base}/apps/${env.PUBLISH_APP_ID}/events: ${status ? `status ${status} ${String(e.body || '').trim()}` : e.message}`,
      checks[status] || 'API is reachable from here, and the PublishFunction\'s logs');
  }
  console.log(`4/5 publish: ${event} to ${channel} through ${base}/apps/${env.PUBLISH_APP_ID}/events`);

  // 5. The event, through the queue (or directly) and the provider.
  const got = await within(timeout, received);
  if (got.timeout || got.nonce !== nonce) {
    fail('5/5 receive', got.timeout ? `no ${event} within ${timeout} ms` : `received ${JSON.stringify(got)}`,
      ['the QueueFunction\'s logs and the dead-letter queue (DeadLetterQueueUrl)',
        'BROADCAST_CONNECTION and the provider credentials in the provider secret belong to the app PUSHER_KEY names']);
  }
  console.log(`5/5 receive: ${event} arrived on ${channel}`);
  client.disconnect();
  console.log('smoke: OK');
  process.exit(0);
})().catch((e) => fail('smoke', e.stack || String(e), 'the messages above'));
