#!/usr/bin/env bash
# Makes the secrets a Compose deployment reads, once: .env (passwords and keys) and secrets/ (the
# Consent receipt signing key, RabbitMQ's definitions with its password hashed). Needs bash and
# openssl. Refuses to overwrite: the keys must stay for good (a new pseudonym key changes every
# recipient's pseudonyms, a new vault master key must be added beside the old one). Usage:
#   deploy/make-secrets.sh [FOLDER]     (default: the repository root, where docker-compose.yml is)
set -euo pipefail
umask 077
target="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
env_file="$target/.env"
secrets="$target/secrets"
if [[ -e "$env_file" || -e "$secrets" ]]; then
  echo "error: $env_file or $secrets exists already; keep them (they hold the deployment's keys)." >&2
  exit 1
fi

key() { openssl rand -base64 32; }
# SQL Server asks for three kinds of character; the rest is random.
password() { printf 'Ov1-%s' "$(openssl rand -hex 16)"; }

rabbitmq_password="$(password)"
mkdir -p "$secrets"
cat > "$env_file" <<ENV
# Made by deploy/make-secrets.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ). Keep it (and secrets/) safe and backed up.
MSSQL_SA_PASSWORD=$(password)
CONSENT_DB_PASSWORD=$(password)
GOVERNANCE_DB_PASSWORD=$(password)
EXCHANGE_DB_PASSWORD=$(password)
RABBITMQ_USER=oversight
RABBITMQ_PASSWORD=$rabbitmq_password
OVERSIGHT_AUTH_SIGNING_KEY=$(openssl rand -base64 48)
CONSENT_AUDIT_SIGNING_KEY=$(key)
CONSENT_AUDIT_SUBJECT_KEY=$(key)
GOVERNANCE_AUDIT_SIGNING_KEY=$(key)
GOVERNANCE_AUDIT_SUBJECT_KEY=$(key)
EXCHANGE_AUDIT_SIGNING_KEY=$(key)
EXCHANGE_AUDIT_SUBJECT_KEY=$(key)
EXCHANGE_VAULT_MASTER_KEY_ID=vault-$(date -u +%Y%m%d)
EXCHANGE_VAULT_MASTER_KEY=$(key)
EXCHANGE_PSEUDONYM_KEY=$(key)
ENV

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$secrets/consent-receipt-key.pem" 2>/dev/null

# RabbitMQ's rabbit_password_hashing_sha256: base64(salt || SHA-256(salt || password)), a 4-byte salt.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
openssl rand 4 > "$work/salt"
{ cat "$work/salt"; printf '%s' "$rabbitmq_password"; } | openssl dgst -sha256 -binary > "$work/hash"
password_hash="$(cat "$work/salt" "$work/hash" | openssl base64 -A)"
cat > "$secrets/rabbitmq-definitions.json" <<JSON
{
  "users": [{ "name": "oversight", "password_hash": "$password_hash", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["administrator"] }],
  "vhosts": [{ "name": "oversight" }],
  "permissions": [{ "user": "oversight", "vhost": "oversight", "configure": ".*", "write": ".*", "read": ".*" }]
}
JSON

# The containers run as their images' own users: the files are readable inside them, the folder only by you.
chmod 700 "$secrets"
chmod 644 "$secrets"/*
echo "wrote $env_file and $secrets/; now: docker compose up -d"
