// pusher-js 8 against the server: public, private, presence and encrypted
// channels, refused auth, client events, socket_id exclusion, user sign-in.
'use strict';

const { post, client, once, connect, subscribe, step, assert, run } = require('./lib');

run(async () => {
  const alice = client('alice');
  const bob = client('bob');
  await connect(alice, bob);
  assert(/^\d+\.\d+$/.test(alice.connection.socket_id), 'socket id ' + alice.connection.socket_id);
  step('connect');

  const { ch: newsA } = await subscribe(alice, 'news');
  const { ch: newsB } = await subscribe(bob, 'news');
  let a = once(newsA, 'headline');
  let b = once(newsB, 'headline');
  await post('/trigger', { channel: 'news', event: 'headline', data: JSON.stringify({ title: 'hi' }) });
  for (const e of await Promise.all([a, b])) assert(e.data.title === 'hi', JSON.stringify(e.data));
  step('public');

  const { ch: ordersA } = await subscribe(alice, 'private-orders.1');
  const { ch: ordersB } = await subscribe(bob, 'private-orders.1');
  a = once(ordersA, 'shipped');
  b = once(ordersB, 'shipped');
  await post('/trigger', { channel: 'private-orders.1', event: 'shipped', data: JSON.stringify({ id: 1 }) });
  for (const e of await Promise.all([a, b])) assert(e.data.id === 1, JSON.stringify(e.data));
  step('private');

  const forbidden = alice.subscribe('private-forbidden');
  const refusal = await once(forbidden, 'pusher:subscription_error');
  assert(refusal.data.type === 'AuthError' && refusal.data.status === 401, JSON.stringify(refusal.data));
  step('bad auth');

  const { ch: roomA, data: membersA } = await subscribe(alice, 'presence-room');
  assert(membersA.count === 1 && membersA.me.id === 'alice', 'alice alone: ' + membersA.count);
  const added = once(roomA, 'pusher:member_added');
  const { ch: roomB, data: membersB } = await subscribe(bob, 'presence-room');
  assert(membersB.count === 2, 'bob sees ' + membersB.count);
  assert(membersB.get('alice').info.name === 'alice', 'alice info ' + JSON.stringify(membersB.get('alice')));
  step('presence members');
  const member = await added;
  assert(member.data.id === 'bob' && member.data.info.name === 'bob', JSON.stringify(member.data));
  step('member_added');

  const echoed = [];
  roomA.bind('client-typing', (d) => echoed.push(d));
  const typing = once(roomB, 'client-typing');
  assert(roomA.trigger('client-typing', { who: 'alice' }), 'trigger refused by pusher-js');
  const ce = await typing;
  assert(ce.data.who === 'alice' && ce.metadata.user_id === 'alice', JSON.stringify(ce));
  step('client event');
  // A server event sent after the client event reaches alice after any echo
  // would have: none came.
  const after = once(roomA, 'after');
  await post('/trigger', { channel: 'presence-room', event: 'after', data: '{}' });
  await after;
  assert(echoed.length === 0, 'client event echoed to its sender');
  step('no echo');

  const excluded = [];
  newsA.bind('excluded', (d) => excluded.push(d));
  const toBob = once(newsB, 'excluded');
  await post('/trigger', { channel: 'news', event: 'excluded', data: '"x"', socket_id: alice.connection.socket_id });
  await toBob;
  const last = once(newsA, 'last');
  await post('/trigger', { channel: 'news', event: 'last', data: '"y"' });
  await last;
  assert(excluded.length === 0, 'excluded socket received the event');
  step('socket_id exclusion');

  const { ch: inbox } = await subscribe(alice, 'private-encrypted-inbox');
  const secret = once(inbox, 'secret');
  await post('/trigger', { channel: 'private-encrypted-inbox', event: 'secret', data: JSON.stringify({ msg: 'for alice only' }) });
  const decrypted = await secret;
  assert(decrypted.data.msg === 'for alice only', 'decrypted ' + JSON.stringify(decrypted.data));
  step('encrypted');

  alice.signin();
  await alice.user.signinDonePromise;
  assert(alice.user.user_data && alice.user.user_data.id === 'alice', 'signed in as ' + JSON.stringify(alice.user.user_data));
  const userChannel = alice.user.serverToUserChannel;
  if (!userChannel.subscribed) await once(userChannel, 'pusher:subscription_succeeded');
  step('signin');
  const dm = once(alice.user, 'dm');
  await post('/trigger', { user: 'alice', event: 'dm', data: JSON.stringify({ text: 'hello' }) });
  assert((await dm).data.text === 'hello', 'dm');
  step('user event');

  const removed = once(roomA, 'pusher:member_removed');
  bob.disconnect();
  const gone = await removed;
  assert(gone.data.id === 'bob', JSON.stringify(gone.data));
  step('member_removed');

  const closed = once(alice.connection, 'disconnected');
  alice.disconnect();
  await closed;
  step('disconnect');
});
