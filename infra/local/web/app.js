// The demo page: the admin side posts to the local stack's /dev endpoints,
// the inbox side is an ordinary pusher-js client that authenticates its
// private and presence subscriptions against the AuthFunction.
(function () {
  'use strict';

  var cfg = null;       // GET /dev/config
  var pusher = null;    // the signed-in user's connection
  var me = null;        // {id, name}
  var online = null;    // the presence channel, while signed in
  var users = {};       // id -> user row, as the users panel shows it
  var inbox = [];

  var $ = function (id) { return document.getElementById(id); };

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function getJSON(url, opts) {
    return fetch(url, opts).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || r.status + ' ' + r.statusText);
        return body;
      });
    });
  }

  function postJSON(url, body) {
    return getJSON(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  // explain sets the "what just happened" line and keeps a short history.
  function explain(text) {
    $('explain').textContent = text;
    var li = el('li', {}, new Date().toLocaleTimeString() + ' — ' + text);
    var log = $('log');
    log.insertBefore(li, log.firstChild);
    while (log.children.length > 8) log.removeChild(log.lastChild);
  }

  function toast(title, text) {
    var t = el('div', { class: 'toast', role: 'status' });
    t.appendChild(el('b', {}, title));
    t.appendChild(el('span', {}, text));
    $('toasts').appendChild(t);
    setTimeout(function () { t.classList.add('gone'); }, 4000);
    setTimeout(function () { t.remove(); }, 4600);
  }

  // --- admin side ---------------------------------------------------------

  // fillUserSelects lists the Users table as the users panel knows it.
  function fillUserSelects() {
    ['email-to', 'update-id'].forEach(function (id) {
      var sel = $(id);
      var keep = sel.value;
      sel.innerHTML = '';
      sortedIds().forEach(function (uid) {
        sel.appendChild(el('option', { value: uid }, users[uid].name + ' (#' + uid + ')'));
      });
      if (keep && users[keep]) sel.value = keep;
    });
  }

  function sortedIds() {
    return Object.keys(users).sort(function (a, b) { return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0); });
  }

  $('send-email').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var to = $('email-to').value;
    var button = $('send');
    button.disabled = true;
    postJSON('/dev/send-email', {
      to: to,
      subject: $('email-subject').value,
      body: $('email-body').value,
    }).then(function (r) {
      explain('Admin: SendMessage put an EmailSent envelope for ' + r.channel +
        ' on the SQS queue ' + r.queue + ' (message ' + r.message_id.slice(0, 8) +
        '…). The QueueFunction picks it up and broadcasts it.');
      setSendStatus('sent', 'Sent to ' + nameOf(to) + '.');
      watchFallback(r.id, to);
    }).catch(function (err) {
      explain('Admin: sending failed: ' + err.message);
    }).finally(function () { button.disabled = false; });
  });

  function nameOf(id) { return users[id] ? users[id].name : '#' + id; }

  function setSendStatus(state, text) {
    var p = $('send-status');
    p.setAttribute('data-state', state);
    p.textContent = text;
  }

  // --- fallback panel -----------------------------------------------------

  // fallbacks are the BroadcastUndelivered messages /dev/fallback took from
  // the fallback queue, newest first.
  var fallbacks = [];

  function renderFallback() {
    var ul = $('fallback-list');
    ul.innerHTML = '';
    if (!fallbacks.length) ul.appendChild(el('li', { class: 'empty' }, 'Nothing fell back yet.'));
    fallbacks.forEach(function (f) {
      var b = f.body || {};
      var env = b.envelope || {};
      var data = env.data || {};
      var li = el('li', { 'data-envelope-id': env.id || '' });
      li.appendChild(el('b', {}, (b.event || 'message') + ' '));
      li.appendChild(document.createTextNode((env.name || '') + (data.subject ? ' “' + data.subject + '”' : '') + ' for '));
      li.appendChild(el('code', {}, (b.channels || []).join(', ')));
      li.appendChild(el('small', {}, ' · ' + new Date(f.received_at).toLocaleTimeString()));
      ul.appendChild(li);
    });
  }

  function loadFallback() {
    return getJSON('/dev/fallback').then(function (r) {
      fallbacks = r.messages || [];
      renderFallback();
      return fallbacks;
    });
  }

  // watchFallback looks for the email in the fallback queue for a while:
  // when it is there, the user had no subscribed tab.
  function watchFallback(id, to) {
    var until = Date.now() + 15000;
    (function poll() {
      loadFallback().then(function (list) {
        var hit = list.some(function (f) { return f.body && f.body.envelope && f.body.envelope.id === id; });
        if (hit) {
          var text = nameOf(to) + ' is offline: the email went to the fallback queue';
          setSendStatus('offline', text + '.');
          explain(text + ' (BroadcastUndelivered in herald-fallback; the presence table said ' +
            cfg.userChannelPrefix + to + ' had no subscriber).');
          return;
        }
        if (Date.now() < until) setTimeout(poll, 500);
      }).catch(function (err) { explain('Fallback queue: ' + err.message); });
    })();
  }

  // writeUser runs one Users table write and explains where its stream
  // record goes; the broadcast that follows updates the panel.
  function writeUser(button, method, path, body, what) {
    button.disabled = true;
    var opts = { method: method, headers: { 'Content-Type': 'application/json' } };
    if (body) opts.body = JSON.stringify(body);
    return getJSON(path, opts)
      .then(function (r) {
        explain('Admin: ' + what + ' with ' + r.operation + ' on table ' + r.table + '; its ' + r.event +
          ' stream record goes through the stream to the StreamFunction.');
        // Signed out, this page hears no broadcasts: read the table instead.
        if (!pusher) reloadUsers();
        return r;
      })
      .catch(function (err) { explain('Admin: ' + what + ' failed: ' + err.message); })
      .finally(function () { button.disabled = false; });
  }

  $('update-user').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var id = $('update-id').value;
    var name = $('update-name').value.trim();
    if (!name) {
      explain('Nothing renamed: type the new name for #' + id + ' first (a blank name is not written).');
      $('update-name').focus();
      return;
    }
    writeUser($('update'), 'POST', '/dev/users/' + encodeURIComponent(id), { name: name }, 'renamed user #' + id)
      .then(function () { $('update-name').value = ''; });
  });

  $('delete').addEventListener('click', function () {
    var id = $('update-id').value;
    writeUser($('delete'), 'DELETE', '/dev/users/' + encodeURIComponent(id), null, 'deleted user #' + id);
  });

  $('create-user').addEventListener('submit', function (ev) {
    ev.preventDefault();
    writeUser($('create'), 'POST', '/dev/users', { name: $('create-name').value }, 'added ' + $('create-name').value)
      .then(function () { $('create-name').value = ''; });
  });

  function reloadUsers() {
    return getJSON('/dev/users').then(function (r) {
      users = {};
      r.users.forEach(function (u) { users[u.id] = { name: u.name, email: u.email }; });
      renderUsers();
    });
  }

  // --- inbox side ---------------------------------------------------------

  function renderInbox() {
    var ul = $('inbox');
    ul.innerHTML = '';
    if (!inbox.length) ul.appendChild(el('li', { class: 'empty' }, me ? 'No email yet.' : 'Log in to see your inbox.'));
    inbox.forEach(function (m) {
      var li = el('li', { class: 'mail' + (m.fresh ? ' fresh' : '') });
      li.appendChild(el('b', { class: 'subject' }, m.subject));
      li.appendChild(el('span', { class: 'from' }, 'from ' + (m.from || 'Admin') + ' · ' + m.at));
      li.appendChild(el('p', { class: 'body' }, m.body || ''));
      ul.appendChild(li);
    });
    $('inbox-count').textContent = inbox.length ? '(' + inbox.length + ')' : '';
  }

  function renderOnline(members) {
    var ul = $('online');
    ul.innerHTML = '';
    if (!members) {
      ul.appendChild(el('li', { class: 'empty' }, '—'));
      return;
    }
    members.each(function (m) {
      // The member's info is what its token said when it joined; a rename
      // since then is in the users table.
      var name = (users[m.id] && users[m.id].name) || (m.info && m.info.name) || ('#' + m.id);
      var li = el('li', { 'data-user-id': m.id });
      li.appendChild(el('span', { class: 'dot' }));
      li.appendChild(document.createTextNode(name + (me && m.id === me.id ? ' (you)' : '')));
      ul.appendChild(li);
    });
  }

  function renderUsers() {
    var ul = $('users');
    ul.innerHTML = '';
    sortedIds().forEach(function (id) {
      var u = users[id];
      var li = el('li', { 'data-user-id': id, class: u.flash ? 'flash' : '' });
      li.appendChild(el('b', {}, u.name));
      li.appendChild(el('small', {}, '#' + id + (u.email ? ' · ' + u.email : '')));
      ul.appendChild(li);
    });
    fillUserSelects();
    renameLoginButtons();
  }

  // renameLoginButtons keeps the login buttons' names those of the table.
  function renameLoginButtons() {
    document.querySelectorAll('[data-login]').forEach(function (b) {
      var u = users[b.getAttribute('data-login')];
      if (u) b.textContent = u.name;
    });
  }

  // showWho says who is signed in, under the name the table holds now.
  function showWho() {
    if (!me) return;
    $('who').textContent = 'Signed in as ' + me.name + ' (#' + me.id + '), listening on ' +
      cfg.userChannelPrefix + me.id + ' and ' + cfg.presenceChannel + '.';
  }

  // onModel applies a model broadcast (UserCreated/Updated/Deleted).
  function onModel(kind) {
    return function (payload) {
      var m = payload && payload.model;
      if (!m || m.id === undefined) return;
      var id = String(m.id);
      if (kind === 'Deleted') delete users[id];
      else users[id] = { name: m.name, email: m.email, flash: true };
      if (me && me.id === id && kind !== 'Deleted') {
        me.name = m.name;
        showWho();
      }
      renderUsers();
      if (online) renderOnline(online.members);
      setTimeout(function () { if (users[id]) { users[id].flash = false; renderUsers(); } }, 1500);
      explain('User' + kind + ' for #' + id + ' arrived on presence-online: the StreamFunction turned the Users stream record into a model broadcast.');
    };
  }

  function setState(state) {
    var s = $('state');
    s.textContent = state;
    s.setAttribute('data-state', state);
  }

  function login(user) {
    logout();
    me = { id: user.id, name: user.name };
    getJSON('/dev/token?sub=' + encodeURIComponent(user.id) + '&name=' + encodeURIComponent(user.name))
      .then(function (t) { connect(t.token); })
      .catch(function (err) { explain('Could not get a token: ' + err.message); });
  }

  function connect(token) {
    var headers = { Authorization: 'Bearer ' + token };
    var opts = {
      cluster: cfg.cluster,
      forceTLS: cfg.forceTLS,
      enabledTransports: cfg.forceTLS ? ['wss'] : ['ws'],
      channelAuthorization: { endpoint: cfg.authEndpoint, transport: 'ajax', headers: headers },
      userAuthentication: { endpoint: cfg.userAuthEndpoint, transport: 'ajax', headers: headers },
    };
    if (cfg.wsHost) {
      opts.wsHost = cfg.wsHost;
      opts.wsPort = cfg.wsPort;
      opts.wssPort = cfg.wsPort;
    }
    pusher = new Pusher(cfg.key, opts);
    pusher.connection.bind('state_change', function (s) { setState(s.current); });
    pusher.connection.bind('connected', function () {
      $('socket').textContent = pusher.connection.socket_id;
    });
    // User authentication (pusher:signin) through /broadcasting/user-auth.
    pusher.signin();

    var mine = cfg.userChannelPrefix + me.id;
    var priv = pusher.subscribe(mine);
    priv.bind('pusher:subscription_succeeded', function () {
      explain('Subscribed to ' + mine + ': the AuthFunction checked your token and signed the subscription.');
    });
    priv.bind('pusher:subscription_error', function (e) {
      explain('The AuthFunction refused ' + mine + ': ' + (e.error || e.status));
    });
    priv.bind(cfg.emailEvent, function (data) {
      inbox.forEach(function (m) { m.fresh = false; });
      inbox.unshift({ subject: data.subject, body: data.body, from: data.from, at: new Date().toLocaleTimeString(), fresh: true });
      renderInbox();
      toast('New email', data.subject);
      explain(cfg.emailEvent + ' arrived on ' + mine + ': SQS → QueueFunction → ' + cfg.connection + ' driver → your browser.');
    });

    online = pusher.subscribe(cfg.presenceChannel);
    online.bind('pusher:subscription_succeeded', function (members) {
      renderOnline(members);
      explain('Joined ' + cfg.presenceChannel + ' (' + members.count + ' online): the AuthFunction signed your member data.');
    });
    online.bind('pusher:subscription_error', function (e) {
      explain('The AuthFunction refused ' + cfg.presenceChannel + ': ' + (e.error || e.status));
    });
    online.bind('pusher:member_added', function (m) {
      renderOnline(online.members);
      explain(((m.info && m.info.name) || m.id) + ' came online (member_added on ' + cfg.presenceChannel + ').');
    });
    online.bind('pusher:member_removed', function (m) {
      renderOnline(online.members);
      explain(((m.info && m.info.name) || m.id) + ' went offline (member_removed on ' + cfg.presenceChannel + ').');
    });
    ['Created', 'Updated', 'Deleted'].forEach(function (k) { online.bind('User' + k, onModel(k)); });

    showWho();
    $('logout').hidden = false;
    document.body.setAttribute('data-user', me.id);
    markCurrent();
    renderInbox();
  }

  // markCurrent highlights the button of the user signed in.
  function markCurrent() {
    document.querySelectorAll('[data-login]').forEach(function (b) {
      b.classList.toggle('current', !!me && b.getAttribute('data-login') === me.id);
    });
  }

  function logout() {
    if (pusher) pusher.disconnect();
    pusher = null;
    online = null;
    me = null;
    inbox = [];
    setState('disconnected');
    $('socket').textContent = '–';
    $('who').textContent = 'Not signed in.';
    $('logout').hidden = true;
    document.body.removeAttribute('data-user');
    markCurrent();
    renderOnline(null);
    renderInbox();
  }

  $('logout').addEventListener('click', function () {
    var name = me && me.name;
    logout();
    if (name) explain(name + ' logged out; the presence channel tells the others.');
  });

  // --- start --------------------------------------------------------------

  Promise.all([getJSON('/dev/config'), getJSON('/dev/users')]).then(function (r) {
    cfg = r[0];
    r[1].users.forEach(function (u) { users[u.id] = { name: u.name, email: u.email }; });
    $('driver').textContent = cfg.connection;
    cfg.users.forEach(function (u) {
      var b = el('button', { type: 'button', 'data-login': u.id }, u.name);
      b.addEventListener('click', function () { login(users[u.id] ? { id: u.id, name: users[u.id].name } : u); });
      $('login-buttons').appendChild(b);
    });
    renderUsers();
    renderOnline(null);
    renderInbox();
    loadFallback().catch(function () {});
    document.body.setAttribute('data-ready', 'true');
    var want = new URLSearchParams(location.search).get('user');
    cfg.users.forEach(function (u) { if (u.id === want) login(u); });
  }).catch(function (err) {
    explain('The local stack did not answer: ' + err.message);
  });
})();
