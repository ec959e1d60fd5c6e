// The server SDKs against herald's PublishFunction: the npm pusher package
// directly, pusher-http-go through the harness (/trigger, /query), each call
// checked against what pusher-js subscribers see, under Node and, for an
// encrypted channel, in Chromium.
//
// env (besides lib.js's): DRIVER (pusher or ably), PUBLISH_HOST,
// PUBLISH_PORT, PUBLISH_APP_ID, PUBLISH_KEY, PUBLISH_SECRET,
// MASTER_KEY_BASE64, CHROMIUM.
'use strict';

const PusherSDK = require('pusher');
const { chromium } = require('playwright-core');
const { env, post, client, once, connect, subscribe, step, assert, run } = require('./lib');

const ably = env.DRIVER === 'ably';
// Subscribers connect as pusher-js does to the provider: with the Pusher
// app's key, or with the Ably key's name through the adapter.
const key = ably ? env.ABLY_PUSHER_KEY : env.PUSHER_KEY;

function sdk(overrides = {}) {
  return new PusherSDK({
    appId: env.PUBLISH_APP_ID,
    key: env.PUBLISH_KEY,
    secret: env.PUBLISH_SECRET,
    host: env.PUBLISH_HOST,
    port: env.PUBLISH_PORT,
    useTLS: false,
    encryptionMasterKeyBase64: env.MASTER_KEY_BASE64,
    ...overrides,
  });
}

// refused expects fn to fail with status and a body containing text.
async function refused(fn, status, text) {
  let res;
  try {
    res = await fn();
  } catch (err) {
    const body = String(err.body !== undefined ? err.body : err.message);
    assert(err.status === status || body.includes(' ' + status + ' '), `status ${err.status}, want ${status}: ${body}`);
    assert(body.includes(text), `answer ${JSON.stringify(body)} lacks ${JSON.stringify(text)}`);
    return body;
  }
  throw new Error(`call answered ${res && res.status}, want ${status}`);
}

run(async () => {
  const api = sdk();
  const carol = client('carol', key);
  const dave = client('dave', key);
  await connect(carol, dave);
  const { ch: news } = await subscribe(carol, 'news');
  const { ch: lobbyC } = await subscribe(carol, 'presence-lobby');
  const { ch: lobbyD } = await subscribe(dave, 'presence-lobby');
  const { ch: inbox } = await subscribe(dave, 'private-App.Models.User.42');

  let got = once(news, 'e1');
  await api.trigger('news', 'e1', { a: 1 });
  assert((await got).data.a === 1, 'e1 data');
  step('trigger');

  got = once(news, 'g1');
  await post('/trigger', { channel: 'news', event: 'g1', data: '{"b":2}' });
  assert((await got).data.b === 2, 'g1 data');
  step('trigger go');

  let b1 = once(news, 'b1');
  let b2 = once(inbox, 'b2');
  await api.triggerBatch([
    { channel: 'news', name: 'b1', data: { n: 1 } },
    { channel: 'private-App.Models.User.42', name: 'b2', data: { n: 2 } },
  ]);
  assert((await b1).data.n === 1 && (await b2).data.n === 2, 'batch data');
  step('trigger batch');

  b1 = once(news, 'gb1');
  b2 = once(lobbyD, 'gb2');
  await post('/trigger', { batch: [
    { channel: 'news', event: 'gb1', data: '{"n":3}' },
    { channel: 'presence-lobby', event: 'gb2', data: '{"n":4}' },
  ] });
  assert((await b1).data.n === 3 && (await b2).data.n === 4, 'go batch data');
  step('trigger batch go');

  // The queries are checked against the subscriptions made above.
  let body = await (await api.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } })).json();
  assert(JSON.stringify(body.channels) === '{"presence-lobby":{"user_count":2}}', 'presence channels ' + JSON.stringify(body));
  body = await (await api.get({ path: '/channels' })).json();
  assert(Object.keys(body.channels).sort().join() === 'news,presence-lobby,private-App.Models.User.42', 'channels ' + JSON.stringify(body));
  step('channels');
  body = await post('/query', { op: 'channels', prefix: 'presence-', info: 'user_count' });
  assert(JSON.stringify(body) === '{"channels":{"presence-lobby":{"user_count":2}}}', 'go channels ' + JSON.stringify(body));
  step('channels go');

  body = await (await api.get({ path: '/channels/presence-lobby', params: { info: 'user_count,subscription_count' } })).json();
  assert(body.occupied === true && body.user_count === 2 && body.subscription_count === 2, 'channel ' + JSON.stringify(body));
  body = await (await api.get({ path: '/channels/nobody-here' })).json();
  assert(body.occupied === false, 'empty channel ' + JSON.stringify(body));
  step('channel');
  body = await post('/query', { op: 'channel', channel: 'news', info: 'subscription_count' });
  assert(body.occupied === true && body.subscription_count === 1, 'go channel ' + JSON.stringify(body));
  step('channel go');

  body = await (await api.get({ path: '/channels/presence-lobby/users' })).json();
  assert(body.users.map((u) => u.id).sort().join() === 'carol,dave', 'users ' + JSON.stringify(body));
  step('users');
  body = await post('/query', { op: 'users', channel: 'presence-lobby' });
  assert(body.users.map((u) => u.id).sort().join() === 'carol,dave', 'go users ' + JSON.stringify(body));
  step('users go');

  if (ably) {
    await refused(() => api.sendToUser('carol', 'dm', { x: 1 }), 400, "cannot be reached through Ably's Pusher adapter");
    step('send to user refused');
    await refused(() => api.trigger('private-encrypted-inbox', 'sealed', { secret: 'plain' }), 400,
      "private-encrypted- channels cannot be reached through Ably's Pusher adapter");
    step('encrypted refused');
    await refused(() => api.terminateUserConnections('carol'), 501, 'terminate_connections is not available with BROADCAST_CONNECTION=ably');
    step('terminate refused');
  } else {
    carol.signin();
    await carol.user.signinDonePromise;
    if (!carol.user.serverToUserChannel.subscribed) await once(carol.user.serverToUserChannel, 'pusher:subscription_succeeded');
    got = once(carol.user, 'dm');
    await api.sendToUser('carol', 'dm', { x: 1 });
    assert((await got).data.x === 1, 'dm data');
    step('send to user');
    got = once(carol.user, 'dm2');
    await post('/trigger', { user: 'carol', event: 'dm2', data: '{"y":2}' });
    assert((await got).data.y === 2, 'go dm data');
    step('send to user go');

    // The SDKs encrypt with the master key; herald must not encrypt again.
    const { ch: secret } = await subscribe(dave, 'private-encrypted-inbox');
    got = once(secret, 'sealed');
    await api.trigger('private-encrypted-inbox', 'sealed', { secret: 'plain' });
    assert((await got).data.secret === 'plain', 'decrypted data');
    step('encrypted');
    got = once(secret, 'sealed-go');
    await post('/trigger', { channel: 'private-encrypted-inbox', event: 'sealed-go', data: '{"secret":"go"}' });
    assert((await got).data.secret === 'go', 'go decrypted data');
    step('encrypted go');
    await encryptedInChromium(api);
    step('encrypted in chromium');

    const left = once(lobbyD, 'pusher:member_removed');
    const closed = once(carol.connection, 'disconnected');
    await api.terminateUserConnections('carol');
    await closed;
    assert((await left).data.id === 'carol', 'carol left the lobby');
    step('terminate');
  }

  await refused(() => sdk({ secret: 'not-the-secret' }).trigger('news', 'nope', {}), 401, 'PUBLISH_APP_SECRET');
  step('bad signature');
  await refused(() => sdk({ appId: '999' }).trigger('news', 'nope', {}), 404, 'PUBLISH_APP_ID');
  step('unknown app');
  const answer = await refused(() => api.get({ path: '/no-such-route' }), 404, 'Not found');
  assert(JSON.parse(answer).error.includes('/no-such-route is not a route of the Pusher HTTP API'), 'JSON 404 ' + answer);
  step('unknown route');

  carol.disconnect();
  dave.disconnect();
});

// encryptedInChromium subscribes pusher-js in Chromium to an encrypted
// channel, triggers on it with the npm SDK and checks the page decrypted the
// SDK's data.
async function encryptedInChromium(api) {
  const browser = await chromium.launch({
    executablePath: env.CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(env.HARNESS_URL + '/browser');
    await page.evaluate(({ key, host, port }) => new Promise((resolve, reject) => {
      window.received = null;
      const p = new Pusher(key, {
        wsHost: host, wsPort: port, forceTLS: false, enabledTransports: ['ws'], cluster: 'mt1', disableStats: true,
        channelAuthorization: {
          customHandler: (params, callback) => {
            fetch('/auth/channel?user=erin', {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ socket_id: params.socketId, channel_name: params.channelName, key }),
            }).then((r) => r.json()).then((d) => callback(null, d), (e) => callback(e, null));
          },
        },
      });
      const ch = p.subscribe('private-encrypted-browser');
      ch.bind('sealed', (d) => { window.received = d; });
      ch.bind('pusher:subscription_succeeded', resolve);
      ch.bind('pusher:subscription_error', (e) => reject(new Error(JSON.stringify(e))));
    }), { key: env.PUSHER_KEY, host: env.PUSHER_HOST, port: Number(env.PUSHER_PORT) });
    await api.trigger('private-encrypted-browser', 'sealed', { secret: 'for chromium' });
    await page.waitForFunction(() => window.received !== null, null, { timeout: 20000 });
    const data = await page.evaluate(() => window.received);
    assert(data && data.secret === 'for chromium', 'Chromium decrypted ' + JSON.stringify(data));
  } finally {
    await browser.close();
  }
}
