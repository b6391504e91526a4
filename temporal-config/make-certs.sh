#!/bin/sh
# Makes the certificates for mTLS between dtf (workers, `dtf submit`, the Temporal CLI and Web UI) and the
# Temporal frontend, and between the server's own services: a CA, a server certificate and a client certificate.
# `npm run cluster` makes a fresh set per run with it; docker-compose.tls.yml expects such a set in ./certs.
#
# Usage: make-certs.sh DIR [SERVER_NAME ...]
#   DIR          where ca.pem, server.pem, server.key, client.pem, client.key go (created; existing files are replaced)
#   SERVER_NAME  names the server certificate carries (default: localhost temporal); 127.0.0.1 is always in it.
#                Clients verify the first one (TEMPORAL_TLS_SERVER_NAME), or the host they dial.
# Environment: DTF_CERT_DAYS (validity, default 365), DTF_KEEP_CA_KEY=1 keeps ca.key to sign more certificates later.
# Needs the openssl CLI. Keys are ECDSA P-256 in PKCS#8, which both the Go server and the TypeScript SDK read.
set -eu

[ $# -ge 1 ] || { echo "usage: make-certs.sh DIR [SERVER_NAME ...]" >&2; exit 2; }
dir="$1"; shift
[ $# -ge 1 ] || set -- localhost temporal
days="${DTF_CERT_DAYS:-365}"
command -v openssl >/dev/null 2>&1 || { echo "make-certs.sh: needs the openssl CLI (Debian: apt-get install -y openssl)" >&2; exit 1; }

mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"

san=""
for name in "$@"; do san="${san}DNS:${name},"; done
san="${san}IP:127.0.0.1"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

key ca.key
openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/CN=dtf Temporal CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem

# leaf NAME CN EXTENSIONS...: a key and a certificate signed by the CA.
leaf() {
  name="$1"; cn="$2"; shift 2
  key "$name.key"
  openssl req -new -key "$name.key" -subj "/CN=$cn" -out "$name.csr"
  printf '%s\n' "$@" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" -sha256 \
    -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

# Server and client auth both: the server's services present it to each other (internode mTLS) and, as their
# client certificate, to the frontend.
leaf server "$1" "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=$san"
leaf client dtf-client "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=clientAuth"
rm -f ca.srl
[ "${DTF_KEEP_CA_KEY:-0}" = 1 ] || rm -f ca.key
chmod 600 ./*.key
openssl verify -CAfile ca.pem server.pem client.pem >/dev/null
echo "Made ca.pem, server.pem/server.key ($*, 127.0.0.1) and client.pem/client.key in $(pwd), valid $days days."
