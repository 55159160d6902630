#!/usr/bin/env bash
# Checks everything under deploy/ and docker-compose.yml against the binaries:
#   1. the Prometheus rules (prometheus/check.sh: promtool check + unit tests, metrics exist);
#   2. the Grafana dashboard: JSON, the datasource a variable, every metric and recording rule exists;
#   3. the kustomize base renders (kubectl kustomize) and docker-compose.yml renders
#      (docker-compose config, with dummy secrets), and both agree with the binaries
#      (check_manifests.py: commands, flags, variables, roles, ports, probe paths);
#   4. that the manifest check can fail: a misspelt variable in each rendering must be refused.
#
#   deploy/check.sh [BIN_DIR]      BIN_DIR holds marquee-* (default: build/bin, or $MARQUEE_BIN_DIR)
#
# Needs promtool (Debian: prometheus), kubectl (Debian: kubernetes-client), docker-compose,
# python3 with PyYAML (Debian: python3-yaml); haproxy -c checks haproxy.cfg when haproxy is installed.
set -euo pipefail
deploy=$(cd "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname -- "$deploy")
bin_dir=${1:-${MARQUEE_BIN_DIR:-$root/build/bin}}

say() { printf 'deploy/check.sh: %s\n' "$*"; }
fail() {
    say "$*" >&2
    exit 1
}

for tool in promtool kubectl docker-compose python3; do
    command -v "$tool" >/dev/null || fail "$tool not found (scripts/install-deps.sh installs it)"
done
for binary in marquee-api marquee-worker marquee-scheduler marquee-migrate marquee-provider-mock; do
    [[ -x $bin_dir/$binary ]] || fail "$bin_dir/$binary not found: build it, or pass the bin directory"
done

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

"$deploy/prometheus/check.sh"

python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$deploy/grafana/marquee.json" ||
    fail "grafana/marquee.json is not JSON"
python3 "$deploy/metric_names.py" grafana "$deploy/grafana"/*.json

kubectl kustomize "$deploy/k8s" >"$work/k8s.yaml"
say "kubectl kustomize deploy/k8s: $(grep -c '^kind:' "$work/k8s.yaml") objects"

# docker-compose.yml refuses to render without its secrets (${VAR:?...}): dummy values, used for
# nothing but rendering.
compose_secrets=(POSTGRES_PASSWORD MARQUEE_MIGRATE_DB_PASSWORD MARQUEE_API_DB_PASSWORD MARQUEE_WORKER_DB_PASSWORD
    MARQUEE_SCHEDULER_DB_PASSWORD RABBITMQ_PASSWORD MARQUEE_SCHEDULER_AMQP_PASSWORD MARQUEE_WORKER_AMQP_PASSWORD)
(
    for var in "${compose_secrets[@]}"; do export "$var=checkonly"; done
    cd "$root" && docker-compose --file docker-compose.yml config
) >"$work/compose.yaml"
say "docker-compose config: $(python3 -c 'import sys, yaml; print(len(yaml.safe_load(open(sys.argv[1]))["services"]))' "$work/compose.yaml") services"

if command -v haproxy >/dev/null; then
    haproxy -c -q -f "$deploy/compose/haproxy.cfg" || fail "compose/haproxy.cfg is invalid"
    say "haproxy -c: compose/haproxy.cfg is valid"
fi

check() {
    python3 "$deploy/check_manifests.py" --bin-dir "$bin_dir" --source-dir "$root" --haproxy "$deploy/compose/haproxy.cfg" "$@"
}
check --k8s "$work/k8s.yaml" --compose "$work/compose.yaml"

# The check must be able to fail: one misspelt variable name in each rendering.
sed '0,/name: DATABASE_URL/s//name: DATABSE_URL/' "$work/k8s.yaml" >"$work/k8s-misspelt.yaml"
sed '0,/DATABASE_URL:/s//DATABSE_URL:/' "$work/compose.yaml" >"$work/compose-misspelt.yaml"
for bad in k8s compose; do
    cmp -s "$work/$bad.yaml" "$work/$bad-misspelt.yaml" && fail "could not misspell a variable in the $bad rendering"
    if check "--$bad" "$work/$bad-misspelt.yaml" 2>"$work/refused.txt"; then
        fail "check_manifests.py accepted a $bad manifest with DATABSE_URL"
    fi
    grep -q 'no environment variable DATABSE_URL' "$work/refused.txt" ||
        fail "check_manifests.py refused the misspelt $bad manifest for another reason: $(cat "$work/refused.txt")"
    say "a misspelt variable in the $bad manifest is refused"
done
say "all deployment checks passed"
