#!/usr/bin/env bash
# Fuzzes the running service against its own OpenAPI document: every phase
# (examples, coverage, fuzzing, stateful) with every check. Any 5xx, status the
# spec does not declare, or body that breaks its schema fails the run.
#
# Usage: .ci/schemathesis.sh [path/to/timebank]   (default: target/debug/timebank,
# as built by `cargo test`). SCHEMATHESIS_MAX_TIME bounds the run (seconds).
#
# Excluded operations, and why:
# - POST /v1/auth/logout and POST /v1/me/password end or change the one session
#   the run authenticates with; after either, every secured call is a (documented)
#   401 and the rest of the run tests nothing.
# - PATCH /v1/users/{id} and DELETE /v1/users/{id}/roles/{grant_id}: the
#   stateful phase learns the run's own user id (from /v1/me) and then resets
#   its password (ending the session) or revokes its admin role; one run saw
#   26 operations answer only 401 after that. Both are covered by tests/auth.rs
#   and tests/access.rs. (That run also reported a password "shorter than
#   minLength" accepted there; replayed by hand, short passwords are 400.)
#
# Findings judged false positives (the check is off; every other check runs):
# - positive_data_acceptance (ST202, "schema-valid request rejected"). What the
#   schema can state, it states (lengths, patterns, page sizes, the two transfer
#   forms, password length). What it reported last is refusals no JSON Schema
#   can express, each a documented status with its problem `code`, and each
#   tested in tests/refusals.rs: ids that name nothing in the caller's scope
#   (`parent_id: no such organisation in your scope`, 400), business rules
#   (`timeout_seconds` without `pending`, disabling yourself,
#   `leaderboard_consent` for a non-volunteer), phone numbers without 6 to 15
#   digits, control characters in text (refused everywhere, DESIGN.md), and the
#   fuzzer reusing one Idempotency-Key for another request (422, invariant 5).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="$(realpath "${1:-target/debug/timebank}")"
MAX_TIME="${SCHEMATHESIS_MAX_TIME:-120}"
VERSION=4.32.5
PASSWORD='schemathesis-admin-password'

WORK="$(mktemp -d)"
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

ST="${SCHEMATHESIS:-}"
if [ -z "$ST" ]; then
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install -q "schemathesis==$VERSION"
    ST="$WORK/venv/bin/schemathesis"
fi

export TIMEBANK_DATABASE_URL="$WORK/timebank.db"
export TIMEBANK_BIND=127.0.0.1:0
export TIMEBANK_LOG=warn
# The fuzzer fails logins on purpose: the throttle must not lock the admin out.
export TIMEBANK_LOGIN_MAX_FAILURES_PER_USER_AND_ADDRESS=10000
export TIMEBANK_LOGIN_MAX_FAILURES_PER_ADDRESS=10000
export TIMEBANK_LOGIN_MAX_FAILURES_PER_USER=10000
# One token must last the whole run.
export TIMEBANK_ACCESS_TOKEN_TTL_SECONDS=86400
TIMEBANK_BOOTSTRAP_PASSWORD="$PASSWORD" "$BIN" bootstrap --username admin >"$WORK/bootstrap.log"

"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
BASE=
for _ in $(seq 1 100); do
    BASE=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$WORK/server.log" | head -n 1 | sed 's#listening on #http://#' || true)
    [ -n "$BASE" ] && curl -fs "$BASE/readyz" >/dev/null && break
    BASE=
    sleep 0.1
done
if [ -z "$BASE" ]; then
    cat "$WORK/server.log"
    exit 1
fi

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
post() {
    curl -sS --fail-with-body -X POST "$BASE$1" -H 'content-type: application/json' \
        -H "idempotency-key: seed-$RANDOM-$RANDOM" ${TOKEN:+-H "authorization: Bearer $TOKEN"} -d "$2"
}
TOKEN=
TOKEN=$(post /v1/auth/token "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" | json '["access_token"]')

# Something for the stateful phase to link: a ledger with a funded wallet and
# a pending transfer (the bootstrap made the city and the `points` ledger).
ORG=$(curl -fsS "$BASE/v1/me" -H "authorization: Bearer $TOKEN" | json '["user"]["roles"][0]["organisation_id"]')
LEDGER=$(curl -fsS "$BASE/v1/ledgers" -H "authorization: Bearer $TOKEN" | json '["items"][0]["id"]')
ISSUANCE=$(curl -fsS "$BASE/v1/ledgers/$LEDGER" -H "authorization: Bearer $TOKEN" | json '["issuance_account_id"]')
WALLET=$(post /v1/accounts "{\"ledger_id\":\"$LEDGER\",\"organisation_id\":\"$ORG\",\"kind\":\"community_fund\",\"name\":\"Seed fund\"}" | json '["id"]')
post /v1/transfers "{\"kind\":\"adjustment\",\"debit_account_id\":\"$ISSUANCE\",\"credit_account_id\":\"$WALLET\",\"amount\":\"100.00\"}" >/dev/null
post /v1/transfers "{\"kind\":\"adjustment\",\"pending\":true,\"debit_account_id\":\"$ISSUANCE\",\"credit_account_id\":\"$WALLET\",\"amount\":\"1.00\"}" >/dev/null

# From the scratch directory: schemathesis keeps a cache where it runs.
cd "$WORK"
# schemathesis itself has crashed mid-run (a Python "Runtime Error" inside its
# generator, with no finding against the API). Such a run is tried once more;
# any failure it reports about the API fails the run as before.
fuzz() {
    "$ST" run "$BASE/openapi.json" \
    --checks all \
    --exclude-checks positive_data_acceptance \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples 25 \
    --max-time "$MAX_TIME" \
    --workers 2 \
    --seed 1 \
    --request-timeout 10 \
    --exclude-path /v1/auth/logout \
    --exclude-path /v1/me/password \
    --exclude-operation-id update_user \
    --exclude-operation-id revoke_role \
    -H "Authorization: Bearer $TOKEN" 2>&1 | tee "$WORK/schemathesis.log"
    return "${PIPESTATUS[0]}"
}
if ! fuzz; then
    if grep -q "Runtime Error" "$WORK/schemathesis.log" && ! grep -q "^Failures:" "$WORK/schemathesis.log"; then
        echo "schemathesis crashed without a finding; running it once more"
        fuzz
    else
        exit 1
    fi
fi
