'use strict';
// The Node.js peer of herald's auth function: node:http, jsonwebtoken
// (HS256) and the pusher package's authorizeChannel, with the same rules as
// the auth function's default channels.yaml: a user may join
// private-App.Models.User.<own id>, and every signed-in user may join
// presence-online as {user_id: sub, user_info: {name}}. It prints its
// address, then serves until killed.
//
// AUTH_NODE_KEY=keyobject verifies with a KeyObject made once at start;
// otherwise the secret is passed as a string, as jsonwebtoken's README
// shows, which makes the library build a key on every call.
const crypto = require('node:crypto');
const http = require('node:http');
const querystring = require('node:querystring');
const jwt = require('jsonwebtoken');
const Pusher = require('pusher');

const pusher = new Pusher({
  appId: 'bench',
  key: process.env.PUSHER_APP_KEY,
  secret: process.env.PUSHER_APP_SECRET,
  useTLS: true,
});
const secret =
  process.env.AUTH_NODE_KEY === 'keyobject'
    ? crypto.createSecretKey(Buffer.from(process.env.AUTH_JWT_SECRET, 'utf8'))
    : process.env.AUTH_JWT_SECRET;
const MAX_BODY = 16 << 10;

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(text);
}

function authorize(claims, channel) {
  const own = /^private-App\.Models\.User\.([^.]+)$/.exec(channel);
  if (own) return own[1] === String(claims.sub) ? {} : null;
  if (channel === 'presence-online') {
    const info = claims.name !== undefined ? { name: claims.name } : {};
    return { presence: { user_id: String(claims.sub), user_info: info } };
  }
  return null;
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/broadcasting/auth') {
    return send(res, 404, { error: 'no such endpoint' });
  }
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > MAX_BODY) req.destroy();
    else chunks.push(c);
  });
  req.on('end', () => {
    const form = querystring.parse(Buffer.concat(chunks).toString('utf8'));
    const socketId = form.socket_id;
    const channel = form.channel_name;
    if (typeof socketId !== 'string' || typeof channel !== 'string') {
      return send(res, 400, { error: 'socket_id and channel_name are required' });
    }
    const header = req.headers.authorization || '';
    if (!header.startsWith('Bearer ')) return send(res, 401, { error: 'missing bearer token' });
    let claims;
    try {
      claims = jwt.verify(header.slice(7), secret, { algorithms: ['HS256'] });
    } catch (err) {
      return send(res, 401, { error: 'invalid token' });
    }
    const decision = authorize(claims, channel);
    if (!decision) return send(res, 403, { error: 'not allowed' });
    try {
      send(res, 200, pusher.authorizeChannel(socketId, channel, decision.presence));
    } catch (err) {
      send(res, 400, { error: err.message });
    }
  });
});

server.listen(0, '127.0.0.1', () => {
  const { address, port } = server.address();
  process.stdout.write(`${address}:${port}\n`);
});
