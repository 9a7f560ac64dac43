// A page on another origin than the API, as a site's frontend would be. It reads
// ?api=BASE&key=KEY&otherKey=KEY, talks to ContentGate with fetch and Apollo Client,
// and leaves what it saw in window.results (or window.failure) for cors.js.
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client/core';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries';

const params = new URLSearchParams(location.search);
const api = params.get('api');
const key = params.get('key');
const otherKey = params.get('otherKey');

async function readPosts(token, init = {}) {
  const response = await fetch(`${api}/api/v1/content/post?limit=2`, {
    ...init,
    headers: { 'X-AUTH-TOKEN': token },
  });
  return {
    status: response.status,
    // Readable only because the server lists ETag in Access-Control-Expose-Headers.
    etag: response.headers.get('etag'),
    body: await response.json(),
  };
}

async function sha256(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function main() {
  const results = {};
  results.rest = await readPosts(key);
  // The answer is `Cache-Control: private, no-cache` with an ETag: the browser keeps
  // it and, asked not to use it unchecked, revalidates with If-None-Match. The page
  // sees 200 either way; cors.js checks on the wire that the server said 304.
  results.restAgain = await readPosts(key, { cache: 'no-cache' });

  const client = new ApolloClient({
    // Unknown hash -> PersistedQueryNotFound -> the link resends with the document
    // (POST), and the server keeps it; hashed-only requests go by GET.
    link: createPersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(
      new HttpLink({ uri: `${api}/api/v2/graphql`, headers: { 'X-AUTH-TOKEN': key } }),
    ),
    cache: new InMemoryCache(),
  });
  // A name unique to this run gives a hash the server cannot know yet, even when the
  // same server ran this test before.
  const name = `Posts_${params.get('run') || Date.now()}`;
  const query = gql(`query ${name} { post(first: 2) { edges { node { id title } } } }`);
  // network-only: the second query must reach the server, not Apollo's cache.
  results.graphql = (await client.query({ query, fetchPolicy: 'network-only' })).data;
  results.graphqlAgain = (await client.query({ query, fetchPolicy: 'network-only' })).data;
  results.operationName = name;

  results.refused = await readPosts(otherKey);
  return results;
}

main().then(
  (results) => {
    window.results = results;
    document.getElementById('log').textContent = JSON.stringify(results, null, 2);
  },
  (err) => {
    // An ApolloError's stack lacks its message; the server's answer is in networkError.
    const answer = err && err.networkError && err.networkError.result;
    window.failure = [String(err), answer && `server said: ${JSON.stringify(answer)}`, err && err.stack]
      .filter(Boolean).join('\n');
    document.getElementById('log').textContent = window.failure;
  },
);
