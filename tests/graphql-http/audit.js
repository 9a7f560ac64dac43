// Runs graphql-http's server audits against ContentGate's GraphQL endpoint.
// Usage: node audit.js URL KEY. Exits non-zero on any failed MUST audit.
const { serverAudits } = require('graphql-http');

async function main() {
  const [url, key] = process.argv.slice(2);
  const fetchFn = (input, init = {}) =>
    fetch(input, { ...init, headers: { ...(init.headers || {}), 'x-auth-token': key } });
  let mustFailures = 0;
  const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
  for (const audit of serverAudits({ url, fetchFn })) {
    const result = await audit.fn();
    counts[result.status] += 1;
    if (result.status !== 'ok') {
      const must = audit.name.startsWith('MUST');
      if (must && result.status === 'error') mustFailures += 1;
      console.log(`${result.status.toUpperCase()} ${audit.name}: ${result.reason}`);
    }
  }
  console.log(`graphql-http audits: ${counts.ok} ok, ${counts.warn} warnings, ${counts.error} errors, ${mustFailures} MUST failures`);
  process.exit(mustFailures === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
