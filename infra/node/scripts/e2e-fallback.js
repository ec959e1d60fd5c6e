// Presence-aware delivery in headless Chromium, driven by playwright-core:
// Alice and Bob log in, an email to Bob reaches his inbox and not the
// fallback queue; Bob closes his tab (the embedded server's webhooks tell
// the WebhookFunction, which marks his channel vacated in the presence
// table); the next email to Bob goes to the fallback queue instead, and the
// admin's page says so and lists it in the Fallback panel. Prints one JSON
// line with what it saw; exits non-zero on the first failed expectation.
//
// Environment: BASE_URL (the local stack's page), CHROMIUM (executable),
// SCREENSHOT (where to write the admin's screenshot), TIMEOUT_MS (per wait).
'use strict';

const { base, screenshot, timeout, ALICE, BOB, problems, fail, launch, open, login } = require('./demo-page');

async function send(admin, to, subject) {
  await admin.selectOption('#email-to', to);
  await admin.fill('#email-subject', subject);
  await admin.fill('#email-body', 'Sent by the fallback browser test.');
  await admin.click('#send');
  await admin.waitForFunction(() => !document.querySelector('#send').disabled);
}

async function fallbackSubjects(page) {
  return page.$$eval('#fallback-list li[data-envelope-id]', (els) => els.map((e) => e.textContent));
}

(async () => {
  const browser = await launch();
  const result = {};
  try {
    const alice = await open(browser, 'alice', 1000); // Alice is the admin too
    const bob = await open(browser, 'bob', 1000);
    await login(alice.page, ALICE);
    await login(bob.page, BOB);
    await alice.page.waitForSelector('#online li[data-user-id="' + BOB + '"]');

    // Bob is online: the email reaches his inbox and nothing falls back.
    const online = 'While online ' + Math.random().toString(36).slice(2, 8);
    await send(alice.page, BOB, online);
    await bob.page.waitForFunction(
      (s) => Array.from(document.querySelectorAll('#inbox .subject')).some((e) => e.textContent === s),
      online, { timeout },
    );
    result.delivered_online = online;

    // Bob closes his tab.
    await bob.context.close();
    await alice.page.waitForSelector('#online li[data-user-id="' + BOB + '"]', { state: 'detached' });

    // The next email to Bob goes to the fallback queue: his channel is
    // vacated in the presence table (the webhook may still be on its way,
    // so the admin sends until the page reports the fallback).
    const offline = 'While offline ' + Math.random().toString(36).slice(2, 8);
    let status = '';
    for (let attempt = 0; attempt < 5 && !/offline/.test(status); attempt++) {
      await send(alice.page, BOB, offline + (attempt ? ' #' + attempt : ''));
      await alice.page.waitForFunction(
        () => /offline/.test(document.querySelector('#send-status').textContent),
        null, { timeout: 15000 },
      ).catch(() => {});
      status = await alice.page.textContent('#send-status');
    }
    if (!/Bob is offline: the email went to the fallback queue/.test(status)) fail('send status: ' + status);
    result.status = status.trim();
    result.explain = await alice.page.textContent('#explain');
    await alice.page.waitForSelector('#fallback-list li[data-envelope-id]');
    result.fallback = await fallbackSubjects(alice.page);
    if (!result.fallback.some((t) => t.includes(offline) && t.includes('private-App.Models.User.' + BOB))) {
      fail('Fallback panel: ' + JSON.stringify(result.fallback));
    }
    if (result.fallback.some((t) => t.includes(online))) fail('the email Bob received also fell back: ' + JSON.stringify(result.fallback));

    // Alice is still online: her email is delivered, not a fallback.
    const forAlice = 'For Alice ' + Math.random().toString(36).slice(2, 8);
    await send(alice.page, ALICE, forAlice);
    await alice.page.waitForFunction(
      (s) => Array.from(document.querySelectorAll('#inbox .subject')).some((e) => e.textContent === s),
      forAlice, { timeout },
    );
    result.alice_inbox = await alice.page.$$eval('#inbox .subject', (els) => els.map((e) => e.textContent));

    await alice.page.screenshot({ path: screenshot, fullPage: true });
    result.screenshot = screenshot;
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
