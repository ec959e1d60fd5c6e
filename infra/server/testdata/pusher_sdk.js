// The npm pusher package (the Node server SDK) against the HTTP API, with
// pusher-js subscribers checking what arrives.
'use strict';

const PusherSDK = require('pusher');
const { env, client, once, connect, subscribe, step, assert, run } = require('./lib');

function sdk(secret = env.PUSHER_SECRET) {
  return new PusherSDK({
    appId: env.PUSHER_APP_ID,
    key: env.PUSHER_KEY,
    secret,
    host: env.PUSHER_HOST,
    port: env.PUSHER_PORT,
    useTLS: false,
  });
}

run(async () => {
  const api = sdk();
  const carol = client('carol');
  const dave = client('dave');
  await connect(carol, dave);
  const { ch: newsC } = await subscribe(carol, 'news');
  const { ch: newsD } = await subscribe(dave, 'news');
  const { ch: lobbyC } = await subscribe(carol, 'presence-lobby');
  await subscribe(dave, 'presence-lobby');

  let got = once(newsC, 'e1');
  await api.trigger('news', 'e1', { a: 1 });
  assert((await got).data.a === 1, 'e1');
  step('trigger');

  const excluded = [];
  newsC.bind('e2', (d) => excluded.push(d));
  got = once(newsD, 'e2');
  await api.trigger(['news'], 'e2', 'x', { socket_id: carol.connection.socket_id });
  await got;
  got = once(newsC, 'e3');
  await api.trigger('news', 'e3', 'y');
  await got;
  assert(excluded.length === 0, 'excluded socket received e2');
  step('trigger exclusive');

  const b1 = once(newsC, 'b1');
  const b2 = once(lobbyC, 'b2');
  const batch = await api.triggerBatch([
    { channel: 'news', name: 'b1', data: '1' },
    { channel: 'presence-lobby', name: 'b2', data: '2', info: 'user_count' },
  ]);
  const batchBody = await batch.json();
  assert(batchBody.batch && batchBody.batch[1].user_count === 2, JSON.stringify(batchBody));
  await Promise.all([b1, b2]);
  step('trigger batch');

  let res = await api.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } });
  let body = await res.json();
  assert(Object.keys(body.channels).length === 1 && body.channels['presence-lobby'].user_count === 2, JSON.stringify(body));
  res = await api.get({ path: '/channels' });
  body = await res.json();
  assert(Object.keys(body.channels).sort().join() === 'news,presence-lobby', JSON.stringify(body));
  step('channels');

  res = await api.get({ path: '/channels/presence-lobby', params: { info: 'user_count,subscription_count' } });
  body = await res.json();
  assert(body.occupied === true && body.user_count === 2 && body.subscription_count === 2, JSON.stringify(body));
  step('channel');

  res = await api.get({ path: '/channels/presence-lobby/users' });
  body = await res.json();
  assert(body.users.map((u) => u.id).join() === 'carol,dave', JSON.stringify(body));
  step('users');

  carol.signin();
  await carol.user.signinDonePromise;
  if (!carol.user.serverToUserChannel.subscribed) await once(carol.user.serverToUserChannel, 'pusher:subscription_succeeded');
  got = once(carol.user, 'dm');
  await api.sendToUser('carol', 'dm', { x: 1 });
  assert((await got).data.x === 1, 'dm');
  step('send to user');

  const left = once(lobbyC.pusher ? dave.channel('presence-lobby') : dave.channel('presence-lobby'), 'pusher:member_removed');
  const refused = once(carol.connection, 'disconnected');
  await api.terminateUserConnections('carol');
  await refused;
  assert((await left).data.id === 'carol', 'carol left the lobby');
  step('terminate');

  try {
    await sdk('wrong-secret').trigger('news', 'nope', 'x');
    throw new Error('trigger with a wrong secret succeeded');
  } catch (err) {
    assert(err.status === 401, 'status ' + err.status + ' ' + err.message);
  }
  step('bad secret refused');

  try {
    await api.trigger('news', 'big', 'x'.repeat(10 * 1024 + 1));
    throw new Error('oversize trigger succeeded');
  } catch (err) {
    assert(err.status === 413, 'status ' + err.status + ' ' + err.message);
  }
  step('oversize refused');

  dave.disconnect();
});
