#!/bin/sh
# One-shot set-up of a self-hosted Temporal cluster for simclr, idempotent (run at every `docker compose
# up` by the temporal-setup service, and by the Kubernetes Job infra/k8s/base/temporal-setup-job.yaml): waits
# for the frontend, creates the namespace when missing, and registers the Simclr search attributes that
# the workflows upsert (workflows/search-attributes.ts; test/unit/deploy-manifests.test.ts checks that the
# lists below are that file's names and types, and test/integration/temporal-setup.test.ts runs this
# script against a real server). `search-attribute create` is a no-op for an attribute of the same type
# and fails for one of another type.
# Needs the `temporal` CLI (the temporalio/admin-tools image). Temporal Cloud: see README "Run at scale".
#
# Env: TEMPORAL_ADDRESS (default temporal:7233), TEMPORAL_NAMESPACE (default default),
#      NAMESPACE_RETENTION (default 7d, for a namespace this script creates)
set -eu

address="${TEMPORAL_ADDRESS:-temporal:7233}"
namespace="${TEMPORAL_NAMESPACE:-default}"
retention="${NAMESPACE_RETENTION:-7d}"

# retry <attempts> <failure message> <command...>: runs the command every 2 s until it succeeds, or
# exits with the message after <attempts> tries.
retry() {
  tries="$1"
  message="$2"
  shift 2
  attempt=1
  until "$@"; do
    if [ "$attempt" -ge "$tries" ]; then
      echo "setup-temporal: $message after $attempt attempts" >&2
      exit 1
    fi
    attempt=$((attempt + 1))
    sleep 2
  done
}

healthy() { temporal operator cluster health --address "$address" >/dev/null 2>&1; }
retry 90 "no healthy Temporal frontend at $address" healthy
echo "setup-temporal: Temporal at $address is serving"

if temporal operator namespace describe --address "$address" --namespace "$namespace" >/dev/null 2>&1; then
  echo "setup-temporal: namespace '$namespace' exists"
else
  temporal operator namespace create --address "$address" --namespace "$namespace" --retention "$retention"
  echo "setup-temporal: namespace '$namespace' created (retention $retention)"
fi

# create <Type> <name>...: the Simclr search attributes of that type, one call each (the CLI takes the
# first --name only). Retried: a namespace created a moment ago is not yet in the frontend's namespace
# cache (about 10 s).
create() {
  type="$1"
  shift
  for name in "$@"; do
    retry 30 "could not register search attribute $name ($type) in '$namespace'" \
      temporal operator search-attribute create --address "$address" --namespace "$namespace" \
      --name "$name" --type "$type"
  done
}
create Keyword SimclrExperiment SimclrStage SimclrDatasetId SimclrSchedule SimclrEncoder
create Int SimclrEpoch
create Double SimclrLoss SimclrTop1
echo "setup-temporal: Simclr search attributes registered in '$namespace'"
