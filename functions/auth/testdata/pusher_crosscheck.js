// Signs the cases in the JSON file named by argv[2] with the npm "pusher"
// package and prints its answers as JSON, one per case, in order.
// Environment: KEY, SECRET, MASTER_KEY_BASE64.
const fs = require("fs")
const Pusher = require("pusher")

const pusher = new Pusher({
  appId: "1",
  key: process.env.KEY,
  secret: process.env.SECRET,
  encryptionMasterKeyBase64: process.env.MASTER_KEY_BASE64,
})

const cases = JSON.parse(fs.readFileSync(process.argv[2], "utf8"))
const out = cases.map((c) => {
  if (c.type === "user") {
    return pusher.authenticateUser(c.socket_id, JSON.parse(c.user_data))
  }
  const data = c.channel_data ? JSON.parse(c.channel_data) : undefined
  return pusher.authorizeChannel(c.socket_id, c.channel, data)
})
process.stdout.write(JSON.stringify(out))
