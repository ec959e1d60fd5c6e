'use strict';
// Runs a Lambda-style SQS handler once on the event in the file named by the
// first argument and prints one JSON line: the handler's wall time and the
// CPU time the process spent while it ran. As in the Lambda runtime, the
// measured invocation starts from the event's bytes: it parses them, calls
// the handler and serialises the answer.
const fs = require('node:fs');

// pusherFromEnv builds a pusher client for the benchmark's stand-in. extra
// holds options such as an HTTP agent.
function pusherFromEnv(extra) {
  const Pusher = require('pusher');
  return new Pusher({
    appId: process.env.PUSHER_APP_ID,
    key: process.env.PUSHER_APP_KEY,
    secret: process.env.PUSHER_APP_SECRET,
    host: process.env.PUSHER_HOST,
    port: process.env.PUSHER_PORT,
    useTLS: false,
    ...extra,
  });
}

async function run(handler) {
  const payload = fs.readFileSync(process.argv[2], 'utf8');
  const startUnixMs = performance.timeOrigin + performance.now();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const event = JSON.parse(payload);
  const result = await handler(event);
  const answer = JSON.stringify(result);
  const wallNs = process.hrtime.bigint() - t0;
  if (answer.length === 0) throw new Error('empty answer');
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(JSON.stringify({
    wall_ms: Number(wallNs) / 1e6,
    cpu_user_ms: cpu.user / 1000,
    cpu_sys_ms: cpu.system / 1000,
    messages: event.Records.length,
    failures: result.batchItemFailures.length,
    start_unix_ms: startUnixMs,
    peak_rss_kib: peakRssKib(),
  }) + '\n');
}

// peakRssKib is this process's peak resident set (VmHWM), in KiB, read
// from /proc rather than process.resourceUsage().maxRSS: that comes from
// getrusage, which on Linux includes the parent's memory when the parent
// started this process with vfork, as Go's os/exec does.
function peakRssKib() {
  const m = /^VmHWM:\s*(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : 0;
}

function main(handler) {
  run(handler).then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

module.exports = { pusherFromEnv, main };
