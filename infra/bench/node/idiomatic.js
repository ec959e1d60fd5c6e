'use strict';
// The SQS handler a Node.js Lambda typically has: one awaited
// pusher.trigger per message, in order, reporting failed messages.
const { pusherFromEnv, main } = require('./harness');

const pusher = pusherFromEnv({});

async function handler(event) {
  const batchItemFailures = [];
  for (const record of event.Records) {
    try {
      const msg = JSON.parse(record.body);
      await pusher.trigger(msg.channels || msg.channel, msg.name, msg.data);
    } catch (err) {
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}

main(handler);
