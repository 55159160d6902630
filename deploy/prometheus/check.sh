#!/usr/bin/env bash
# Checks the Prometheus rules: syntax (promtool check rules), the unit tests in tests/ (promtool
# test rules: every alert fires on its failure and stays quiet otherwise), and that every metric a
# rule reads is one the binaries export (../metric_names.py). Needs promtool (Debian: prometheus)
# and python3 with PyYAML (Debian: python3-yaml).
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")"

for tool in promtool python3; do
    command -v "$tool" >/dev/null || {
        echo "prometheus/check.sh: $tool not found (scripts/install-deps.sh installs it)" >&2
        exit 1
    }
done

rules=(./*.yml)
promtool check rules "${rules[@]}"
promtool test rules tests/*.yml
python3 ../metric_names.py rules "${rules[@]}"
echo "prometheus/check.sh: rules valid and tested"
