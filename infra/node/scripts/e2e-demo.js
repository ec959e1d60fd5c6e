// The demo's seed scenario in headless Chromium, driven by playwright-core:
// Alice and Bob log in (two browser contexts), an admin sends Alice an
// email, Alice's page shows it and Bob's does not, both are in the online
// list and Bob leaving removes him, DynamoDB stream events (MODIFY, INSERT,
// REMOVE) update the users panel. Prints one JSON line with what it
// measured; exits non-zero on the first failed expectation.
//
// Environment: BASE_URL (the local stack's page), CHROMIUM (executable),
// SCREENSHOT (where to write the inbox screenshot), TIMEOUT_MS (per wait).
'use strict';

const { base, screenshot, timeout, ALICE, BOB, problems, fail, launch, open, login } = require('./demo-page');

async function inboxSubjects(page) {
  return page.$$eval('#inbox .subject', (els) => els.map((e) => e.textContent));
}

async function sendEmail(admin, to, subject) {
  await admin.selectOption('#email-to', to);
  await admin.fill('#email-subject', subject);
  await admin.fill('#email-body', 'Sent by the browser test to user ' + to + '.');
  const t0 = Date.now();
  await admin.click('#send');
  return t0;
}

async function waitForMail(page, subject) {
  await page.waitForFunction(
    (s) => Array.from(document.querySelectorAll('#inbox .subject')).some((e) => e.textContent === s),
    subject,
    { timeout },
  );
  return Date.now();
}

(async () => {
  const browser = await launch();
  const result = {};
  try {
    const admin = await open(browser, 'admin');
    const alice = await open(browser, 'alice');
    const bob = await open(browser, 'bob');

    await login(alice.page, ALICE);
    await login(bob.page, BOB);
    // Both see both in the online list.
    for (const p of [alice.page, bob.page]) {
      for (const id of [ALICE, BOB]) {
        await p.waitForSelector('#online li[data-user-id="' + id + '"]');
      }
    }
    result.online = await alice.page.$$eval('#online li', (els) => els.map((e) => e.getAttribute('data-user-id')).sort());

    // The admin sends Alice an email: SQS -> QueueFunction -> driver -> server -> pusher-js.
    const forAlice = 'Quarterly report ' + Math.random().toString(36).slice(2, 8);
    const t0 = await sendEmail(admin.page, ALICE, forAlice);
    const t1 = await waitForMail(alice.page, forAlice);
    result.email_latency_ms = t1 - t0;
    await alice.page.waitForSelector('.toast:has-text("' + forAlice + '")');
    result.explain = await alice.page.textContent('#explain');
    if (!/QueueFunction/.test(result.explain)) fail('explanation does not name the QueueFunction: ' + result.explain);

    // Bob gets his own email; by the time it is there, Alice's would have
    // been too, had it been broadcast to him.
    const forBob = 'Lunch on Friday ' + Math.random().toString(36).slice(2, 8);
    await sendEmail(admin.page, BOB, forBob);
    await waitForMail(bob.page, forBob);
    const bobInbox = await inboxSubjects(bob.page);
    const aliceInbox = await inboxSubjects(alice.page);
    if (bobInbox.includes(forAlice)) fail("Bob's inbox shows Alice's email: " + JSON.stringify(bobInbox));
    if (aliceInbox.includes(forBob)) fail("Alice's inbox shows Bob's email: " + JSON.stringify(aliceInbox));
    result.alice_inbox = aliceInbox;
    result.bob_inbox = bobInbox;

    // A DynamoDB stream record (MODIFY on Users) updates the users panel.
    const newName = 'Robert ' + Math.random().toString(36).slice(2, 6);
    await admin.page.selectOption('#update-id', BOB);
    await admin.page.fill('#update-name', newName);
    await admin.page.click('#update');
    for (const p of [alice.page, bob.page]) {
      await p.waitForFunction(
        (n) => { const li = document.querySelector('#users li[data-user-id="43"] b'); return li && li.textContent === n; },
        newName,
        { timeout },
      );
    }
    // The rename reaches everything that shows Bob's name: his own
    // "Signed in as", the login buttons and the online lists.
    await bob.page.waitForFunction((n) => document.querySelector('#who').textContent.includes('Signed in as ' + n), newName, { timeout });
    for (const p of [alice.page, bob.page]) {
      await p.waitForFunction(
        (n) => {
          const b = document.querySelector('[data-login="43"]');
          const li = document.querySelector('#online li[data-user-id="43"]');
          return b && b.textContent === n && li && li.textContent.startsWith(n);
        },
        newName,
        { timeout },
      );
    }
    result.renamed = newName;

    // A blank rename writes nothing and says why.
    await admin.page.fill('#update-name', '   ');
    await admin.page.click('#update');
    result.blank_rename = await admin.page.textContent('#explain');
    if (!/Nothing renamed/.test(result.blank_rename)) fail('a blank rename explains nothing: ' + result.blank_rename);

    await alice.page.screenshot({ path: screenshot, fullPage: true });
    result.screenshot = screenshot;

    // INSERT and REMOVE records: UserCreated adds a row, UserDeleted (built
    // from the old image) takes it away again.
    const added = 'Carol ' + Math.random().toString(36).slice(2, 6);
    await admin.page.fill('#create-name', added);
    await admin.page.click('#create');
    const carol = await alice.page.waitForFunction(
      (n) => { const b = Array.from(document.querySelectorAll('#users li b')).find((e) => e.textContent === n); return b && b.parentElement.getAttribute('data-user-id'); },
      added,
      { timeout },
    ).then((h) => h.jsonValue());
    await admin.page.waitForSelector('#update-id option[value="' + carol + '"]', { state: 'attached' });
    await admin.page.selectOption('#update-id', carol);
    await admin.page.click('#delete');
    await alice.page.waitForSelector('#users li[data-user-id="' + carol + '"]', { state: 'detached' });
    result.created_then_deleted = carol;

    // Bob closes his tab: Alice's online list drops him.
    await bob.context.close();
    await alice.page.waitForSelector('#online li[data-user-id="' + BOB + '"]', { state: 'detached' });
    result.online_after_bob_left = await alice.page.$$eval('#online li', (els) => els.map((e) => e.getAttribute('data-user-id')));
    if (result.online_after_bob_left.join() !== ALICE) fail('online list after Bob left: ' + result.online_after_bob_left);

    if (problems.length) fail('page errors: ' + problems.join('; '));
    console.log(JSON.stringify(result));
  } catch (e) {
    console.error(e.stack || String(e));
    if (problems.length) console.error('page problems:\n  ' + problems.join('\n  '));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
