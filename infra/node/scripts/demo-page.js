// What the demo page's browser tests share: the environment they read,
// Chromium started as they need it, a page opened on the demo with its
// errors collected, and a login. Each script keeps its own scenario.
'use strict';

const { chromium } = require('playwright-core');

const base = process.env.BASE_URL;
const executablePath = process.env.CHROMIUM;
const screenshot = process.env.SCREENSHOT;
const timeout = Number(process.env.TIMEOUT_MS || 30000);
if (!base || !executablePath || !screenshot) {
  console.error('BASE_URL, CHROMIUM and SCREENSHOT are required');
  process.exit(2);
}

const ALICE = '42';
const BOB = '43';

// problems collects page errors and console errors, reported if anything
// fails.
const problems = [];

function fail(msg) {
  throw new Error(msg);
}

function launch() {
  return chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

// open gives a fresh browser context on the demo page, once it is ready.
async function open(browser, label, height = 860) {
  const context = await browser.newContext({ viewport: { width: 1180, height } });
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on('pageerror', (e) => problems.push(label + ': ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(label + ' console: ' + m.text());
  });
  await page.goto(base + '/');
  await page.waitForSelector('body[data-ready="true"]');
  return { context, page };
}

async function login(page, id) {
  await page.click('[data-login="' + id + '"]');
  await page.waitForSelector('#state[data-state="connected"]');
  await page.waitForSelector('#online li[data-user-id="' + id + '"]');
}

module.exports = { base, screenshot, timeout, ALICE, BOB, problems, fail, launch, open, login };
