// The admin panel in real Chromium, every request off this server refused: sign in with
// the keyboard, create a key with one READ rule, copy it from the clipboard and use it
// on the REST API, add a rule, regenerate (the old key gets 401), decode the QR dialog's
// image to the exact JSON, refuse a forged POST, delete the key, open GraphiQL from the
// Content types page, check 360 px, and run axe-core on every page.
// Usage: node panel.js BASE_URL EMAIL PASSWORD [SCREENSHOT_DIR]
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');
const jsQR = require('jsqr');

const [base, email, password, shots] = process.argv.slice(2);
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`); };

async function api(route, key) {
  const answer = await fetch(`${base}${route}`, { headers: { 'X-AUTH-TOKEN': key } });
  return answer.status;
}

async function audit(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 3) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(bad.length === 0, `axe: no serious or critical violation on ${name}${bad.length ? ' ' + JSON.stringify(bad) : ''}`);
}

function card(page, name) {
  return page.locator('article.card', { has: page.getByRole('heading', { name, exact: true }) });
}

async function copiedKey(page, theCard) {
  const button = theCard.getByRole('button', { name: 'Copy' });
  await button.click();
  await theCard.getByRole('button', { name: 'Copied ✓' }).waitFor();
  return page.evaluate(() => navigator.clipboard.readText());
}

async function confirm(page) {
  const dialog = page.locator('#confirm-dialog');
  await dialog.waitFor({ state: 'visible' });
  check((await dialog.innerText()).includes('stops working at once') || (await dialog.innerText()).includes('cannot be undone'),
    'the confirmation says what happens');
  await Promise.all([page.waitForNavigation(), dialog.getByRole('button', { name: 'Confirm' }).click()]);
}

async function decodeQr(page) {
  const dialog = page.locator('#qr-dialog');
  await dialog.waitFor({ state: 'visible' });
  // Polled with evaluate: waitForFunction compiles its predicate in the page, which the
  // panel's CSP (no 'unsafe-eval') refuses.
  for (let i = 0; i < 100; i += 1) {
    const loaded = await page.evaluate(() => { const image = document.getElementById('qr-image'); return image.complete && image.naturalWidth > 0; });
    if (loaded) break;
    await page.waitForTimeout(100);
  }
  const { width, height, data } = await page.evaluate(() => {
    const image = document.getElementById('qr-image');
    const size = 528;
    const canvas = document.createElement('canvas');
    canvas.width = size; canvas.height = size;
    const context = canvas.getContext('2d');
    context.fillStyle = '#fff'; context.fillRect(0, 0, size, size);
    context.drawImage(image, 0, 0, size, size);
    const pixels = context.getImageData(0, 0, size, size);
    return { width: size, height: size, data: Array.from(pixels.data) };
  });
  const code = jsQR(Uint8ClampedArray.from(data), width, height);
  await dialog.getByRole('button', { name: 'Close' }).click();
  return code && code.data;
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const page = await context.newPage();
  const outside = [];
  const cspErrors = [];
  page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text()); });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(base)) return route.continue();
    outside.push(url);
    return route.abort();
  });

  // Sign in, with the keyboard alone.
  await page.goto(`${base}/`);
  check(page.url() === `${base}/panel/login`, 'the root leads to the sign-in page');
  await audit(page, 'the sign-in page');
  await page.keyboard.type(email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  check(page.url() === `${base}/panel/`, 'signed in with the keyboard');
  await audit(page, 'the accounts page');

  await page.getByRole('link', { name: 'API Keys' }).first().click();
  await page.getByRole('heading', { name: 'API Keys', level: 1 }).waitFor();
  await audit(page, 'the API Keys page');

  // A new key, "Read Media Files", with one READ rule.
  await page.getByRole('link', { name: 'Add new API key' }).click();
  const fresh = page.locator('#key-new');
  await fresh.getByText('Save the key to generate its token').waitFor();
  await fresh.getByLabel('Name').fill('Read Media Files');
  await fresh.getByRole('button', { name: 'Add rule' }).click();
  await fresh.getByLabel('Content type').last().selectOption({ label: 'Blog post' });
  await fresh.getByRole('checkbox', { name: 'READ' }).last().check();
  await Promise.all([page.waitForNavigation(), fresh.getByRole('button', { name: 'Save' }).click()]);
  let keyCard = card(page, 'Read Media Files');
  await keyCard.waitFor();
  const key = await copiedKey(page, keyCard);
  check(/^[A-Za-z0-9_-]{20,}$/.test(key), 'the copy button put the key on the clipboard');
  check(await api('/api/v1/content/post', key) === 200, 'the copied key reads posts');
  check(await api('/api/v1/content/author', key) === 403, 'and nothing else (403 on authors)');
  check(await api('/api/v1/content/post', key) === 200 && await api('/api/v1/content/category', key) === 403,
    'exactly its scope');

  // One more rule, saved for this key alone.
  await keyCard.getByRole('button', { name: 'Add rule' }).click();
  await keyCard.getByLabel('Content type').last().selectOption({ label: 'Author' });
  await keyCard.getByRole('checkbox', { name: 'READ' }).last().check();
  await Promise.all([page.waitForNavigation(), keyCard.getByRole('button', { name: 'Save' }).click()]);
  check(await api('/api/v1/content/author', key) === 200, 'the added rule applies on the next request');

  // Regenerate: the old key gets 401.
  keyCard = card(page, 'Read Media Files');
  await keyCard.getByRole('button', { name: 'Regenerate' }).click();
  await confirm(page);
  keyCard = card(page, 'Read Media Files');
  const regenerated = await copiedKey(page, keyCard);
  check(regenerated !== key, 'regenerate made a new key');
  check(await api('/api/v1/content/post', key) === 401, 'the old key gets 401');
  check(await api('/api/v1/content/post', regenerated) === 200, 'the new key works');

  // The QR dialog decodes to exactly what Flotiq Mobile Expo reads.
  await keyCard.getByRole('link', { name: 'QR code' }).click();
  const decoded = await decodeQr(page);
  const expected = JSON.stringify({ apiKey: regenerated, apiUrl: `${base}/api` });
  check(decoded === expected, `the QR code decodes to ${expected} (got ${decoded})`);
  if (shots) await page.screenshot({ path: path.join(shots, 'keys.png'), fullPage: true });

  // A forged POST without the CSRF token is refused and changes nothing.
  const forged = await page.evaluate(async () => {
    const body = new URLSearchParams({ name: 'Forged', type_0: 'post', read_0: 'on' });
    const answer = await fetch('/panel/accounts/default/keys', { method: 'POST', body });
    return answer.status;
  });
  check(forged === 403, 'a POST without the CSRF token gets 403');
  await page.reload();
  check(await page.getByRole('heading', { name: 'Forged' }).count() === 0, 'and made no key');

  // At 360 px the page fits (no sideways scrolling).
  await page.setViewportSize({ width: 360, height: 740 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  check(overflow <= 360, `the keys page fits 360 px (width ${overflow})`);
  await page.setViewportSize({ width: 1280, height: 900 });

  // Delete.
  keyCard = card(page, 'Read Media Files');
  await keyCard.getByRole('button', { name: 'Delete' }).click();
  await confirm(page);
  check(await card(page, 'Read Media Files').count() === 0, 'the deleted key is gone from the page');
  check(await api('/api/v1/content/post', regenerated) === 401, 'the deleted key gets 401');
  check((await page.locator('#audit').innerText()).includes('key.delete'), 'the audit log shows the deletion');

  // Usage.
  await page.getByRole('link', { name: 'Usage' }).click();
  await page.locator('figure.chart svg').waitFor();
  await audit(page, 'the Usage page');
  if (shots) await page.screenshot({ path: path.join(shots, 'usage.png'), fullPage: true });

  // Content types, then GraphiQL with the read-only key and a first query.
  await page.getByRole('link', { name: 'Content types' }).click();
  await audit(page, 'the Content types page');
  await page.getByRole('link', { name: 'Open GraphiQL with the read-only key' }).click();
  await page.locator('.graphiql-execute-button').waitFor({ timeout: 20000 });
  check(!page.url().includes('auth_token'), 'the key is not in the GraphiQL URL');
  const editorText = await page.locator('.graphiql-query-editor').innerText();
  check(editorText.includes('The first five objects of'), 'GraphiQL opens on a first query over the account\'s types');
  await page.locator('.graphiql-execute-button').click();
  await page.locator('.result-window').getByText('"edges"').waitFor({ timeout: 20000 });
  check((await page.locator('.result-window').innerText()).includes('"id"'), 'running it shows content');

  // Sign out.
  await page.goto(`${base}/panel/`);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign out' }).click()]);
  check(page.url() === `${base}/panel/login`, 'signed out');

  await browser.close();
  check(outside.length === 0, `no request left the server ${outside.join(', ')}`);
  check(cspErrors.length === 0, `no Content-Security-Policy violation ${cspErrors.join(' | ')}`);
  if (failures.length) {
    console.error(`${failures.length} check(s) failed`);
    process.exit(1);
  }
  console.log('the admin panel passed in Chromium');
}

main().catch((err) => { console.error(err); process.exit(1); });
