// A page on a second local origin uses ContentGate in headless Chromium: REST with an
// ETag revalidation, GraphQL through Apollo Client's persisted-queries link, and a key
// limited to another origin refused. Every request to neither origin is refused.
//
// Usage: node cors.js API_BASE_URL PAGE_ORIGIN KEY OTHER_ORIGIN_KEY
//   API_BASE_URL      a running server, e.g. http://127.0.0.1:18472
//   PAGE_ORIGIN       where this script serves the page, e.g. http://127.0.0.1:18473
//   KEY               reads post/author/category, limited to PAGE_ORIGIN
//   OTHER_ORIGIN_KEY  the same rules, limited to some other origin
const fs = require('fs');
const http = require('http');
const path = require('path');
const esbuild = require('esbuild');
const { chromium } = require('playwright-core');

const GUARD_PROBE = 'http://127.0.0.2:9/guard-probe';

function fail(message) {
  console.error(`cors-browser: FAIL: ${message}`);
  process.exit(1);
}

function check(ok, message, detail) {
  if (!ok) fail(detail === undefined ? message : `${message}\n${JSON.stringify(detail, null, 2)}`);
}

// The page's script is bundled in memory for each run; nothing built lands on disk.
async function servePage(pageOrigin) {
  const dir = path.join(__dirname, 'page');
  const built = await esbuild.build({
    entryPoints: [path.join(dir, 'app.js')],
    bundle: true,
    write: false,
    format: 'iife',
    target: 'chrome120',
    logLevel: 'warning',
  });
  const files = {
    '/': ['text/html; charset=utf-8', fs.readFileSync(path.join(dir, 'index.html'))],
    '/app.js': ['text/javascript; charset=utf-8', built.outputFiles[0].contents],
  };
  const server = http.createServer((req, res) => {
    const file = files[new URL(req.url, pageOrigin).pathname];
    if (!file) return res.writeHead(204).end(); // e.g. /favicon.ico
    res.writeHead(200, { 'content-type': file[0], 'cache-control': 'no-store' }).end(file[1]);
  });
  const { hostname, port } = new URL(pageOrigin);
  await new Promise((resolve, reject) => server.once('error', reject).listen(Number(port), hostname, resolve));
  return server;
}

async function main() {
  const [apiBase, pageOrigin, key, otherKey] = process.argv.slice(2);
  if (!otherKey) fail('usage: node cors.js API_BASE_URL PAGE_ORIGIN KEY OTHER_ORIGIN_KEY');
  const api = new URL(apiBase).origin;
  const pageOrig = new URL(pageOrigin).origin;
  check(api !== pageOrig, `the page must be on another origin than the API (${api})`);

  const server = await servePage(pageOrig);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  // Raw CDP rather than page.route(): Playwright turns the HTTP cache off while any
  // route is set, and then the browser would never revalidate with If-None-Match.
  // CDP also gives the status that came over the wire: for a revalidation, Playwright's
  // response (and the page) report the cached 200, only responseReceivedExtraInfo the 304.
  const cdp = await page.context().newCDPSession(page);
  const outside = [];
  cdp.on('Fetch.requestPaused', ({ requestId, request }) => {
    const origin = new URL(request.url).origin;
    const action = origin === api || origin === pageOrig
      ? cdp.send('Fetch.continueRequest', { requestId })
      : (outside.push(request.url), cdp.send('Fetch.failRequest', { requestId, errorReason: 'BlockedByClient' }));
    action.catch(() => {}); // the page may have gone away meanwhile
  });
  const wire = new Map(); // requestId -> what was sent and answered on the network
  const entry = (id) => wire.get(id) || wire.set(id, { id }).get(id);
  const bodies = [];
  const lower = (headers) => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  cdp.on('Network.requestWillBeSent', ({ requestId, request }) => {
    const { method, url, postData } = request;
    Object.assign(entry(requestId), { method, url, postData, token: lower(request.headers)['x-auth-token'] });
  });
  // The headers actually sent, with those the HTTP cache added (If-None-Match).
  cdp.on('Network.requestWillBeSentExtraInfo', ({ requestId, headers }) => {
    entry(requestId).ifNoneMatch = lower(headers)['if-none-match'];
  });
  cdp.on('Network.responseReceivedExtraInfo', ({ requestId, statusCode }) => {
    entry(requestId).wireStatus = statusCode;
  });
  cdp.on('Network.loadingFinished', ({ requestId }) => {
    const e = entry(requestId);
    if (e.method === 'OPTIONS' || !e.url || new URL(e.url).origin !== api) return;
    bodies.push(cdp.send('Network.getResponseBody', { requestId }).then((r) => { e.body = r.body; }, () => {}));
  });
  await cdp.send('Network.enable');
  await cdp.send('Fetch.enable', { patterns: [{ urlPattern: '*' }] });

  const query = new URLSearchParams({ api, key, otherKey, run: String(Date.now()) });
  await page.goto(`${pageOrig}/?${query}`);
  await page.waitForFunction(() => window.results || window.failure, null, { timeout: 30000 })
    .catch(() => fail('the page did not finish within 30 s'));
  const failure = await page.evaluate(() => window.failure);
  if (failure) fail(`the page failed: ${failure}`);
  const results = await page.evaluate(() => window.results);
  // The guard must be live: a request off both origins is refused and recorded.
  const probe = await page.evaluate((url) => fetch(url).then(() => 'answered', () => 'refused'), GUARD_PROBE);
  await Promise.all(bodies);
  await browser.close();
  server.close();

  check(probe === 'refused' && outside.includes(GUARD_PROBE), 'the guard did not refuse an outside request');
  const leaks = outside.filter((url) => url !== GUARD_PROBE);
  check(leaks.length === 0, 'requests left the two origins', leaks);
  const sent = [...wire.values()].filter((e) => e.url && e.method !== 'OPTIONS' && new URL(e.url).origin === api);

  // REST, and its revalidation answered 304 by the server (the page sees the cached 200).
  const { rest, restAgain, refused } = results;
  check(rest.status === 200 && rest.body.data.length > 0 && rest.etag, 'REST read failed', rest);
  check(restAgain.status === 200 && JSON.stringify(restAgain.body) === JSON.stringify(rest.body),
    'the repeated REST read did not give the same data', restAgain);
  const restSent = sent.filter((e) => new URL(e.url).pathname === '/api/v1/content/post' && e.token === key);
  check(restSent.length === 2 && restSent[0].wireStatus === 200, 'expected two REST reads, the first answered 200', restSent);
  check(restSent[1].ifNoneMatch === rest.etag && restSent[1].wireStatus === 304,
    'the repeated REST read was not revalidated with If-None-Match and answered 304', restSent[1]);

  // GraphQL through Apollo, with the persisted-query flow on the wire.
  const edges = results.graphql?.post?.edges || [];
  check(edges.length > 0 && edges[0].node.title, 'GraphQL via Apollo gave no posts', results.graphql);
  const gql = sent.filter((e) => new URL(e.url).pathname === '/api/v2/graphql');
  const ids = (data) => (data?.post?.edges || []).map((e) => e.node.id).join(',');
  const hashOf = (ext) => ext && JSON.parse(ext).persistedQuery?.sha256Hash;
  const shape = gql.map((e) => {
    const params = new URL(e.url).searchParams;
    const body = e.postData ? JSON.parse(e.postData) : {};
    return {
      method: e.method,
      hash: e.method === 'GET' ? hashOf(params.get('extensions')) : body.extensions?.persistedQuery?.sha256Hash,
      withQuery: e.method === 'GET' ? params.has('query') : typeof body.query === 'string',
      status: e.wireStatus,
      answer: e.body && JSON.parse(e.body),
    };
  });
  const [probeByHash, register, byHash] = shape;
  check(ids(results.graphqlAgain) === ids(results.graphql), 'the second GraphQL query differed', results.graphqlAgain);
  check(shape.length === 3, 'expected three GraphQL requests: hash, registration, hash', shape);
  check(probeByHash.method === 'GET' && probeByHash.hash && !probeByHash.withQuery && probeByHash.status === 200
    && probeByHash.answer?.errors?.[0]?.extensions?.code === 'PERSISTED_QUERY_NOT_FOUND',
  'the first request by hash alone was not answered PersistedQueryNotFound', probeByHash);
  check(register.method === 'POST' && register.hash === probeByHash.hash && register.withQuery && register.answer?.data,
    'the registration (query and hash) did not run', register);
  check(byHash.method === 'GET' && byHash.hash === probeByHash.hash && !byHash.withQuery && byHash.status === 200
    && ids(byHash.answer?.data) === ids(results.graphql),
  'the second query by hash alone over GET did not answer the data', byHash);

  // The key limited to another origin, refused where the page can see it (CORS headers).
  check(refused.status === 403 && /origin/.test(refused.body.message), 'the other-origin key was not refused with 403', refused);

  console.log([
    `cors-browser: page ${pageOrig} -> API ${api}, no request elsewhere`,
    `  REST: ${rest.body.data.length} posts, revalidated with If-None-Match ${rest.etag} -> 304`,
    `  GraphQL (Apollo): ${edges.map((e) => e.node.title).join(', ')}`,
    `  persisted query ${probeByHash.hash.slice(0, 12)}…: GET -> PersistedQueryNotFound, POST registers, GET by hash -> data`,
    `  key for another origin: 403 "${refused.body.message}"`,
  ].join('\n'));
}

// Nothing here should take long; do not let a hung browser hold CI.
setTimeout(() => fail('timed out after 120 s'), 120000).unref();
main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
