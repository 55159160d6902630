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
# Each test file orders every rule group (see its group_eval_order comment): a group added to the
# rules but not to a test's order would be evaluated first there, and its tests would flake.
python3 - "${rules[@]}" <<'PY'
import sys, yaml, glob
groups = [g["name"] for path in sys.argv[1:] for g in yaml.safe_load(open(path))["groups"]]
for test in sorted(glob.glob("tests/*.yml")):
    order = yaml.safe_load(open(test)).get("group_eval_order", [])
    if order != groups:
        sys.exit(f"prometheus/check.sh: {test}: group_eval_order must list every rule group in order: {groups}")
PY
promtool test rules tests/*.yml
python3 ../metric_names.py rules "${rules[@]}"
echo "prometheus/check.sh: rules valid and tested"
