#!/bin/sh
# Registers dtf's custom search attributes (temporal-config/search-attributes.json) on a namespace of a
# self-hosted Temporal cluster with the Temporal CLI. Idempotent: attributes that already exist with the same
# type are left alone; one that exists with another type is an error.
#
# Usage: register-search-attributes.sh [options] [-- extra temporal CLI flags, e.g. --address host:7233 --tls]
#   -n, --namespace NS  namespace (default: $TEMPORAL_NAMESPACE, else "default")
#   -f, --file FILE     name -> type JSON (default: search-attributes.json beside this script)
#       --dry-run       print the temporal commands instead of running them
#       --tcld          print the equivalent tcld command for Temporal Cloud and exit
#       --no-verify     skip listing the namespace's attributes afterwards
#   -h, --help
# Connection: the Temporal CLI's own environment config (TEMPORAL_ADDRESS, TEMPORAL_API_KEY, TEMPORAL_TLS*,
# TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE), the same variables the dtf worker reads.
# TEMPORAL_CLI names the temporal binary (default: temporal on PATH). JSON is read with python3, else node
# (DTF_JSON_TOOL=python3|node picks one); no jq needed.
set -eu

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
file="$here/search-attributes.json"
namespace="${TEMPORAL_NAMESPACE:-default}"
temporal="${TEMPORAL_CLI:-temporal}"
dry_run=0
tcld=0
verify=1

usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }
die() { echo "register-search-attributes: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    -n | --namespace) [ $# -ge 2 ] || die "$1 needs a value"; namespace="$2"; shift 2 ;;
    --namespace=*) namespace="${1#*=}"; shift ;;
    -f | --file) [ $# -ge 2 ] || die "$1 needs a value"; file="$2"; shift 2 ;;
    --file=*) file="${1#*=}"; shift ;;
    --dry-run) dry_run=1; shift ;;
    --tcld) tcld=1; shift ;;
    --no-verify) verify=0; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) die "unknown option '$1' (try --help)" ;;
  esac
done
# Whatever is left in "$@" goes to every temporal command.

[ -f "$file" ] || die "no such file: $file"

# json_pairs MODE FILE|- : prints "Name Type" lines.
#   MODE=mapping: FILE is {"Name": "Type", ...}; types are checked against the CLI's type names.
#   MODE=custom:  FILE is `temporal operator search-attribute list -o json`; prints its customAttributes.
# Types come out normalized (lower case, no INDEXED_VALUE_TYPE_ prefix, no underscores: keyword, keywordlist).
PY_HELPER='
import json, re, sys
mode, path = sys.argv[1], sys.argv[2]
doc = json.load(sys.stdin if path == "-" else open(path))
names = ["unspecified", "text", "keyword", "int", "double", "bool", "datetime", "keywordlist"]
if mode == "custom":
    doc = doc.get("customAttributes", doc.get("custom_attributes", {})) if isinstance(doc, dict) else None
if not isinstance(doc, dict):
    sys.exit("expected a JSON object of search attribute name -> type")
for name, typ in doc.items():
    if isinstance(typ, int) and 0 <= typ < len(names):
        typ = names[typ]
    if not isinstance(typ, str):
        sys.exit("search attribute %r: type %r is not a string" % (name, typ))
    norm = re.sub(r"^indexed_value_type_", "", typ.lower()).replace("_", "")
    if not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", name):
        sys.exit("search attribute name %r is not a plain identifier" % name)
    if mode == "mapping" and norm not in names[1:]:
        sys.exit("search attribute %s: unknown type %r (expected one of Text, Keyword, Int, Double, Bool, Datetime, KeywordList)" % (name, typ))
    print(name, norm)
'
JS_HELPER='
const fs = require("fs");
const [mode, path] = process.argv.slice(1);
let doc = JSON.parse(fs.readFileSync(path === "-" ? 0 : path, "utf8"));
const names = ["unspecified", "text", "keyword", "int", "double", "bool", "datetime", "keywordlist"];
const fail = (msg) => { console.error(msg); process.exit(1); };
if (mode === "custom") doc = doc && typeof doc === "object" ? (doc.customAttributes ?? doc.custom_attributes ?? {}) : null;
if (!doc || typeof doc !== "object" || Array.isArray(doc)) fail("expected a JSON object of search attribute name -> type");
for (let [name, typ] of Object.entries(doc)) {
  if (Number.isInteger(typ) && typ >= 0 && typ < names.length) typ = names[typ];
  if (typeof typ !== "string") fail(`search attribute ${name}: type ${JSON.stringify(typ)} is not a string`);
  const norm = typ.toLowerCase().replace(/^indexed_value_type_/, "").replace(/_/g, "");
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) fail(`search attribute name ${JSON.stringify(name)} is not a plain identifier`);
  if (mode === "mapping" && !names.slice(1).includes(norm))
    fail(`search attribute ${name}: unknown type ${JSON.stringify(typ)} (expected one of Text, Keyword, Int, Double, Bool, Datetime, KeywordList)`);
  console.log(`${name} ${norm}`);
}
'
json_tool="${DTF_JSON_TOOL:-}"
if [ -z "$json_tool" ]; then
  if command -v python3 >/dev/null 2>&1; then json_tool=python3
  elif command -v node >/dev/null 2>&1; then json_tool=node
  else die "needs python3 or node to read JSON"
  fi
fi
json_pairs() {
  case "$json_tool" in
    python3) python3 -c "$PY_HELPER" "$@" ;;
    node) node -e "$JS_HELPER" "$@" ;;
    *) die "DTF_JSON_TOOL must be python3 or node, not '$json_tool'" ;;
  esac
}

# The CLI's spelling of a normalized type.
cli_type() {
  case "$1" in
    text) echo Text ;; keyword) echo Keyword ;; int) echo Int ;; double) echo Double ;;
    bool) echo Bool ;; datetime) echo Datetime ;; keywordlist) echo KeywordList ;;
    *) die "unknown type '$1'" ;;
  esac
}

wanted=$(json_pairs mapping "$file") || die "cannot read $file"
[ -n "$wanted" ] || die "$file defines no search attributes"

if [ "$tcld" = 1 ]; then
  # Temporal Cloud namespaces are named <namespace>.<account-id>; run `tcld login` first.
  printf 'tcld namespace search-attributes add --namespace %s' "$namespace"
  echo "$wanted" | while read -r name type; do printf ' \\\n  --sa "%s=%s"' "$name" "$(cli_type "$type")"; done
  printf '\n'
  exit 0
fi

run() {
  if [ "$dry_run" = 1 ]; then echo "$*"; return 0; fi
  "$@"
}

echo "Registering $(echo "$wanted" | wc -l | tr -d ' ') search attributes from $file on namespace '$namespace'"
failed=0
# A here-document, not a pipe: the loop must run in this shell so that `failed` survives it.
while read -r name type; do
  t=$(cli_type "$type")
  if [ "$dry_run" = 1 ]; then
    run "$temporal" operator search-attribute create --namespace "$namespace" --name "$name" --type "$t" "$@"
    continue
  fi
  if out=$("$temporal" operator search-attribute create --namespace "$namespace" --name "$name" --type "$t" "$@" </dev/null 2>&1); then
    echo "  $name ($t): ok"
  else
    case "$out" in
      *"different type"* | *"differ"*)
        echo "  $name ($t): FAILED, it exists with another type: $out" >&2; failed=1 ;;
      *"already exist"* | *"AlreadyExists"* | *"ALREADY_EXISTS"*)
        echo "  $name ($t): already registered" ;;
      *)
        echo "  $name ($t): FAILED: $out" >&2; failed=1 ;;
    esac
  fi
done <<EOF
$wanted
EOF
[ "$failed" = 0 ] || die "some search attributes could not be registered"
[ "$dry_run" = 0 ] && [ "$verify" = 1 ] || exit 0

# Read them back: the CLI may report success for a type it mapped differently, and a stale namespace cache may
# hide new attributes for a few seconds.
attempt=1
while :; do
  missing=""
  if listed=$("$temporal" operator search-attribute list --namespace "$namespace" --output json "$@" 2>&1) &&
    have=$(printf '%s' "$listed" | json_pairs custom -); then
    missing=$(echo "$wanted" | while read -r name type; do
      echo "$have" | grep -qx "$name $type" || echo "$name=$(cli_type "$type")"
    done)
    [ -z "$missing" ] && { echo "Verified: all attributes are registered with the expected types."; exit 0; }
  else
    missing="(could not list: $listed)"
  fi
  [ "$attempt" -ge "${DTF_VERIFY_ATTEMPTS:-10}" ] && die "not registered as expected on '$namespace': $(echo $missing)"
  attempt=$((attempt + 1))
  sleep "${DTF_VERIFY_INTERVAL_S:-2}"
done
