// Opens GraphiQL in Chromium with every request off this server refused, runs a query
// through the editor, and checks the answer. Usage: node browser.js BASE_URL KEY
const { chromium } = require('playwright-core');

async function main() {
  const [base, key] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  const outside = [];
  // Offline: anything not served by ContentGate itself is refused and recorded.
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(base)) return route.continue();
    outside.push(url);
    return route.abort();
  });
  await page.goto(`${base}/api/v2/graphql?auth_token=${key}`);
  const editor = page.locator('.graphiql-query-editor .CodeMirror').first();
  await editor.waitFor({ timeout: 20000 });
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type('{ post(field: "slug", value: "hello-contentgate") { totalCount edges { node { title author { name } } } } }');
  await page.locator('.graphiql-execute-button').click();
  const result = page.locator('.result-window');
  await result.getByText('Ada Lovelace').waitFor({ timeout: 20000 });
  const text = await result.innerText();
  await browser.close();
  if (!text.includes('Hello, ContentGate') || outside.length > 0) {
    console.error(`unexpected: ${text}\noutside requests: ${outside.join(', ')}`);
    process.exit(1);
  }
  console.log('GraphiQL ran a query in Chromium with no request leaving the server');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
