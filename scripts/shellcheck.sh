#!/usr/bin/env bash
# `make shellcheck` (and CI): shellcheck on every shell script of the repository, failing on any
# finding. A script is a file git knows (tracked, or new and not ignored) that is named *.sh/*.bash
# or starts with a sh/bash shebang, so a new script is checked without being listed anywhere.
# Sourced files are followed (-x) from the script's own directory, as `. "$dir/lib/x.sh"` does.
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/.."

command -v shellcheck >/dev/null || {
    echo "shellcheck: not installed; run scripts/install-deps.sh" >&2
    exit 1
}

scripts=()
while IFS= read -r -d '' file; do
    [[ -f $file ]] || continue # deleted in the work tree, not yet in the index
    if [[ $file == *.sh || $file == *.bash ]] ||
        head -n1 -- "$file" | grep -Eq '^#![[:space:]]*[^[:space:]]*[/ ]?(env[[:space:]]+)?(ba|da|k)?sh([[:space:]]|$)'; then
        scripts+=("$file")
    fi
done < <(git ls-files -z --cached --others --exclude-standard)

if ((${#scripts[@]} == 0)); then
    echo "shellcheck: no shell scripts found" >&2
    exit 1
fi
shellcheck --external-sources --source-path=SCRIPTDIR --severity=style "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts, no findings"
