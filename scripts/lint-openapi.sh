#!/usr/bin/env bash
# Lints the served spec, api/openapi.yaml, with Redocly's recommended rules (the exceptions, with
# their reasons, in tools/openapi-lint/redocly.yaml). The linter comes from the npm registry, pinned
# by tools/openapi-lint/package-lock.json, and needs Node.js 20 or later.
#
#   scripts/lint-openapi.sh
set -euo pipefail
root=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
tool=$root/tools/openapi-lint
command -v npm >/dev/null || { echo "lint-openapi: npm is not installed (scripts/install-deps.sh)" >&2; exit 1; }
if [[ ! -x $tool/node_modules/.bin/redocly ]]; then
    npm ci --prefix "$tool" --no-audit --no-fund --loglevel=error >/dev/null
fi
status=0
output=$("$tool/node_modules/.bin/redocly" lint --config "$tool/redocly.yaml" "$root/api/openapi.yaml" 2>&1) || status=$?
# Without the banner about the Node.js versions of future releases.
grep -v -e '^ *[║╔╚]' -e '^[[:space:]]*$' <<<"$output" || true
((status == 0)) || { echo "lint-openapi: api/openapi.yaml has findings (above)" >&2; exit 1; }
echo "lint-openapi: api/openapi.yaml is valid"
