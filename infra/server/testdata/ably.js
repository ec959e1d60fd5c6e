// ably-go publishes (through the harness) and pusher-js, connected with the
// Ably key's name as Ably's Pusher adapter expects, receives on the mapped
// channels.
'use strict';

const { env, post, client, once, connect, subscribe, step, assert, run } = require('./lib');

run(async () => {
  const erin = client('erin', env.ABLY_PUSHER_KEY);
  await connect(erin);
  const { ch: orders } = await subscribe(erin, 'orders');
  const { ch: privateOrders } = await subscribe(erin, 'private-orders');
  step('connect');

  let got = once(orders, 'created');
  await post('/ably', { channel: 'public:orders', name: 'created', data: JSON.stringify({ id: 1 }) });
  assert((await got).data.id === 1, 'public');
  step('public');

  got = once(privateOrders, 'paid');
  await post('/ably', { channel: 'private:orders', name: 'paid', data: JSON.stringify({ id: 2 }) });
  assert((await got).data.id === 2, 'private');
  step('private');

  const both = [once(orders, 'batched'), once(privateOrders, 'batched')];
  await post('/ably', { channels: ['public:orders', 'private:orders'], name: 'batched', data: '"z"' });
  await Promise.all(both);
  step('batch');

  const dups = [];
  orders.bind('dup', (d) => dups.push(d));
  await post('/ably', { channel: 'public:orders', name: 'dup', data: '1', id: 'same-id' });
  await post('/ably', { channel: 'public:orders', name: 'dup', data: '1', id: 'same-id' });
  got = once(orders, 'after');
  await post('/ably', { channel: 'public:orders', name: 'after', data: '2' });
  await got;
  assert(dups.length === 1, 'delivered ' + dups.length + ' times');
  step('dedup');

  erin.disconnect();
});
