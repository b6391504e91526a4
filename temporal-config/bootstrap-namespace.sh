#!/bin/sh
# One-shot set-up of a fresh self-hosted cluster for dtf (the compose `temporal-setup` service runs it in the
# temporalio/admin-tools image): waits for the server, creates the namespace when missing, then registers the
# search attributes. Idempotent, safe on every `docker compose up`.
# Environment: TEMPORAL_ADDRESS (and the CLI's other TEMPORAL_* connection variables), TEMPORAL_NAMESPACE
# (default "default"), DTF_NAMESPACE_RETENTION (closed-workflow retention, default 168h), TEMPORAL_CLI.
set -eu

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
namespace="${TEMPORAL_NAMESPACE:-default}"
retention="${DTF_NAMESPACE_RETENTION:-168h}"
temporal="${TEMPORAL_CLI:-temporal}"

wait_for() { # wait_for WHAT COMMAND...: retries COMMAND for up to two minutes
  what="$1"; shift
  tries=0
  until "$@" >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -lt 60 ] || { echo "gave up waiting for $what" >&2; "$@" || true; exit 1; }
    sleep 2
  done
}

echo "Waiting for Temporal at ${TEMPORAL_ADDRESS:-the CLI's default address}"
wait_for "the cluster to report SERVING" sh -c "\"\$0\" operator cluster health | grep -q SERVING" "$temporal"

if "$temporal" operator namespace describe --namespace "$namespace" >/dev/null 2>&1; then
  echo "Namespace '$namespace' exists."
else
  echo "Creating namespace '$namespace' (retention $retention)"
  "$temporal" operator namespace create --namespace "$namespace" --retention "$retention" \
    --description "dtf test tasks" || "$temporal" operator namespace describe --namespace "$namespace" >/dev/null
fi

# A new namespace reaches every frontend's cache a few seconds after creation.
wait_for "namespace '$namespace' to be usable" "$temporal" operator search-attribute list --namespace "$namespace"
exec sh "$here/register-search-attributes.sh" --namespace "$namespace"
