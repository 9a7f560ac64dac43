#!/usr/bin/env bash
# ContentGate on SQLite and on PostgreSQL side by side, interleaved in one run: the scenarios
# of ../shared/peers/paired.sh against four release servers, each database seeded with the same
# data by peers/contentgate/seed.py (PostgreSQL then analysed: `psql -c ANALYZE`).
#   SQLITE_KEPT=URL SQLITE_RENDERED=URL SQLITE_KEY=KEY \
#   PG_KEPT=URL PG_RENDERED=URL PG_KEY=KEY benches/backends.sh [DURATION=8s]
# "rendered" servers run with --response-cache-mb 0. wrk: 2 threads, 16 connections, 3 s warm-up.
set -euo pipefail
D="${1:-8s}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
printf 'wrk.method="POST"\nwrk.headers["Content-Type"]="application/json"\nwrk.body=%s\n' \
  "'{\"query\":\"{ post(first: 25) { edges { node { id title slug body views published category { id title slug } author { id name email } } } } }\"}'" > "$tmp/graphql.lua"
printf 'math.randomseed(os.time())\nrequest=function() return wrk.format("GET","/api/v1/content/post?limit=25&hydrate=1&page="..math.random(1,400)) end\n' > "$tmp/varied.lua"
one() { # label key url [lua]
  local s=(); [ -n "${4:-}" ] && s=(-s "$4")
  wrk -t2 -c16 -d3s -H "X-AUTH-TOKEN: $2" "${s[@]}" "$3" >/dev/null
  wrk -t2 -c16 -d"$D" --latency -H "X-AUTH-TOKEN: $2" "${s[@]}" "$3" | awk -v l="$1" '/Requests\/sec/{rps=$2} / 50%/{p50=$2} /Non-2xx/{bad=$4} END{printf "%-30s %10s req/s  p50 %-9s %s\n", l, rps, p50, (bad?"NON-2XX "bad:"")}'
}
for sc in list varied graphql single search; do
  lua=""
  case $sc in
    list)    p="/api/v1/content/post?limit=25&page=1&hydrate=1";;
    varied)  p="/api/v1/content/post"; lua="$tmp/varied.lua";;
    graphql) p="/api/v2/graphql"; lua="$tmp/graphql.lua";;
    single)  p="/api/v1/content/post/post-1?hydrate=1";;
    search)  p="/api/v1/search?q=rustacean&content_type[]=post&limit=25&hydrate=1";;
  esac
  one "$sc sqlite rendered" "$SQLITE_KEY" "$SQLITE_RENDERED$p" "$lua"
  one "$sc postgres rendered" "$PG_KEY" "$PG_RENDERED$p" "$lua"
  one "$sc sqlite kept" "$SQLITE_KEY" "$SQLITE_KEPT$p" "$lua"
  one "$sc postgres kept" "$PG_KEY" "$PG_KEPT$p" "$lua"
done
