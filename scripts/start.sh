#!/usr/bin/env bash
# Starts the local Consentry system: a single-validator development chain (embedded ParityDB,
# RPC ws://127.0.0.1:9944, Prometheus :9615), the HTTP API with its indexer (embedded SQLite,
# http://127.0.0.1:8080, OpenAPI at /openapi.json) and the institution's worker.
# Ctrl-C stops everything. State lives in .consentry/ (delete it for a fresh chain).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. scripts/env.sh

# Built exactly as scripts/test.sh builds it, so whichever command runs second reuses the first's build.
cargo test --release --locked --workspace --no-run
bin="$CARGO_TARGET_DIR/release"
state="${CONSENTRY_STATE:-.consentry}"
mkdir -p "$state"

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait || true; }
trap cleanup EXIT INT TERM

"$CONSENTRY_NODE" --dev --base-path "$state/chain" --rpc-cors all --prometheus-external "$@" \
  2> >(sed -u 's/^/[node] /' >&2) &
pids+=($!)

# The API connects once the node's RPC answers.
for _ in $(seq 1 120); do
  if curl -sf -H 'Content-Type: application/json' \
      -d '{"id":1,"jsonrpc":"2.0","method":"system_health","params":[]}' \
      http://127.0.0.1:9944 >/dev/null; then break; fi
  sleep 0.5
done

# The hospital's patient store: a secret pepper and synthetic patients (first start only).
if [ ! -f "$state/pepper.key" ]; then
  "$bin/consentry" institution pepper new "$state/pepper.key"
  "$bin/consentry" synth --count 20 --seed 1 --out "$state/synth"
  "$bin/consentry" ingest --store "$state/patients.sqlite" --pepper-file "$state/pepper.key" "$state/synth"
fi

# The institutions' contracts (contracts/, built into the `consentry` binary): the council (Alice,
# the dev chain's whole council) deploys the data-use agreement registry by motion; the hospital
# (Bob) proposes a sample agreement with the research institute (Charlie), which signs it into
# force. Dev keys only, in throwaway keystores under $state/keys (passphrase "dev").
contracts_json="$state/contracts.json"
if [ ! -s "$contracts_json" ]; then
  mkdir -p "$state/keys"
  export CONSENTRY_DEV_PASSPHRASE=dev
  for who in Alice Bob Charlie; do
    [ -f "$state/keys/$who.json" ] || "$bin/consentry" wallet --keystore "$state/keys/$who.json" \
      --passphrase-env CONSENTRY_DEV_PASSPHRASE import --uri "//$who" >/dev/null
  done
  cx() { who=$1; shift; "$bin/consentry" contracts --keystore "$state/keys/$who.json" \
    --passphrase-env CONSENTRY_DEV_PASSPHRASE --json "$@"; }
  dua=$(cx Alice deploy --contract dua | sed -n 's/.*"address": "\([^"]*\)".*/\1/p')
  printf 'Sample data-use agreement between St. Example University Hospital and Example Research Institute (development chain).\n' > "$state/sample-dua.txt"
  cx Bob dua propose --contract "$dua" --custodian 0 --recipient 1 --purposes research,federated_training \
    --categories labs,ehr,genomic --days 365 --text "$state/sample-dua.txt" >/dev/null
  cx Charlie dua sign --contract "$dua" --id 0 >/dev/null
  # A sample federated-learning study: the hospital coordinates, both institutions are members.
  cat > "$state/sample-study.json" <<'JSON'
{"coordinator": 0, "members": [0, 1], "model": "drug-response hybrid",
 "architecture": "consentry-inference hybrid v1", "min_sites": 1, "max_rounds": 20,
 "round_deadline_secs": 3600, "epsilon": 8.0, "delta": 1e-5}
JSON
  consortium=$(cx Alice deploy --contract consortium --study "$state/sample-study.json" \
    | sed -n 's/.*"address": "\([^"]*\)".*/\1/p')
  echo "{\"dua\": \"$dua\", \"consortium\": \"$consortium\"}" > "$contracts_json"
fi
dua=$(sed -n 's/.*"dua": "\([^"]*\)".*/\1/p' "$contracts_json")
consortium=$(sed -n 's/.*"consortium": "\([^"]*\)".*/\1/p' "$contracts_json")
echo "Contracts: data-use agreement registry $dua (agreement 0: hospital -> research institute, in force); federated-learning consortium $consortium" >&2

# The hospital's worker signs with the dev chain's hospital key (Bob, institution 0; a dev key is
# accepted only with --dev on a dev chain: production workers use --keystore). Its job API takes
# only callers holding the credential in worker.token (the API).
if [ ! -s "$state/worker.token" ]; then
  (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$state/worker.token")
fi
"$bin/consentry-worker" --node ws://127.0.0.1:9944 --store "$state/patients.sqlite" \
  --jobs "$state/jobs.sqlite" --listen 127.0.0.1:8090 --dev --key-uri //Bob \
  --api-token-file "$state/worker.token" --dua-contract "$dua" \
  2> >(sed -u 's/^/[worker] /' >&2) &
pids+=($!)

# The browser app (api/web) at http://127.0.0.1:8080/app/, built when Node.js is here; auditors
# may check proofs against the node's own RPC.
web=()
if api/web/scripts/install.sh --no-browser && (cd api/web && npx vite build --logLevel warn); then
  web=(--web-dir api/web/dist --web-verify-node http://127.0.0.1:9944)
else
  echo "warning: the web app could not be built; the API starts without it" >&2
fi
"$bin/consentry-api" --node ws://127.0.0.1:9944 "${web[@]}" \
  --database "sqlite://$state/index.db?mode=rwc" --listen 127.0.0.1:8080 \
  --worker-url http://127.0.0.1:8090 --worker-institution 0 --worker-token-file "$state/worker.token" \
  2> >(sed -u 's/^/[api] /' >&2) &
pids+=($!)

echo "Consentry is up: chain ws://127.0.0.1:9944, API and web app http://127.0.0.1:8080, worker http://127.0.0.1:8090 (Ctrl-C stops)" >&2
wait -n
