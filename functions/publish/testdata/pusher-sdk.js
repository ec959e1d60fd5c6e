// Publishes through herald's publish endpoint with the npm `pusher` server
// SDK, as an app would, and prints each call's HTTP status as JSON:
// {"trigger":200,"triggerBatch":200,"tampered":401,"stale":401}.
//
// env: HERALD_HOST, HERALD_PORT, APP_ID, APP_KEY, APP_SECRET
const Pusher = require("pusher");

const base = {
  appId: process.env.APP_ID,
  key: process.env.APP_KEY,
  host: process.env.HERALD_HOST,
  port: process.env.HERALD_PORT,
  useTLS: false,
  timeout: 20000,
};

async function status(fn) {
  try {
    const res = await fn();
    return res.status;
  } catch (err) {
    if (err.status !== undefined) return err.status;
    throw err;
  }
}

async function main() {
  const pusher = new Pusher({ ...base, secret: process.env.APP_SECRET });
  const out = {};
  out.trigger = await status(() =>
    pusher.trigger("private-App.Models.User.42", "EmailSent", { subject: "Welcome to herald", email_id: 1001 })
  );
  out.triggerBatch = await status(() =>
    pusher.triggerBatch([
      { channel: "private-App.Models.User.42", name: "EmailRead", data: { email_id: 1001 } },
      { channel: "private-App.Models.User.7", name: "EmailSent", data: "plain text" },
    ])
  );
  // Signed with another secret: the signature does not match.
  const tampered = new Pusher({ ...base, secret: process.env.APP_SECRET + "x" });
  out.tampered = await status(() => tampered.trigger("private-App.Models.User.42", "Tampered", {}));
  // Signed eleven minutes ago: outside the 600 s window.
  const realNow = Date.now;
  Date.now = () => realNow() - 660 * 1000;
  try {
    out.stale = await status(() => pusher.trigger("private-App.Models.User.42", "Stale", {}));
  } finally {
    Date.now = realNow;
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
