#!/usr/bin/env bash
# The image's runtime package list is checked against what the binaries load: every shared library
# each binary the image installs (BIN_DIR/marquee-{api,worker,scheduler,migrate,provider-mock}) needs (ldd resolves ELF NEEDED entries recursively) must belong to
# a Debian package in the dependency closure of `install-deps.sh --runtime`, or to a package of
# priority "required" (in every Debian image). Fails naming the library and its package.
#
#   scripts/check-runtime-deps.sh BIN_DIR
#
# Sanitizer runtimes (libasan, libubsan, libtsan) are allowed: CI's binaries are instrumented, the
# image's are built without sanitizers.
set -euo pipefail
root=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
bin_dir=${1:?usage: check-runtime-deps.sh BIN_DIR}

mapfile -t runtime < <("$root/scripts/install-deps.sh" --list --runtime)
((${#runtime[@]} > 0)) || { echo "check-runtime-deps: empty runtime package list" >&2; exit 1; }

declare -A closure=()
while read -r package; do
    closure[${package%:*}]=1
done < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
    --no-enhances "${runtime[@]}" | grep -v '^ ' | tr -d '<>')

package_of() {  # the package owning a library path (merged /usr: dpkg may know either spelling)
    local path=$1 real
    real=$(readlink -f "$path")
    for candidate in "$path" "$real" "/usr${path#/usr}" "${real#/usr}"; do
        if owner=$(dpkg-query -S "$candidate" 2>/dev/null); then
            echo "${owner%%:*}"
            return 0
        fi
    done
    return 1
}

failures=0
checked=0
for name in api worker scheduler migrate provider-mock; do
    binary=$bin_dir/marquee-$name
    [[ -x $binary ]] || { echo "check-runtime-deps: $binary is missing" >&2; exit 1; }
    while read -r library path; do
        [[ $library == lib*san.so* ]] && continue
        if [[ $path == "not" ]]; then
            echo "check-runtime-deps: $(basename "$binary") needs $library, which is not installed here" >&2
            failures=$((failures + 1))
            continue
        fi
        if ! package=$(package_of "$path"); then
            echo "check-runtime-deps: $(basename "$binary"): no package owns $path" >&2
            failures=$((failures + 1))
            continue
        fi
        package=${package%:*}
        [[ -n ${closure[$package]:-} ]] && continue
        [[ $(apt-cache show --no-all-versions "$package" 2>/dev/null | sed -n 's/^Priority: //p') == required ]] && continue
        echo "check-runtime-deps: $(basename "$binary") loads $library from package $package," \
            "which install-deps.sh --runtime does not bring in" >&2
        failures=$((failures + 1))
    done < <(ldd "$binary" | awk '$2 == "=>" { print $1, $3 }')
    checked=$((checked + 1))
done
((failures == 0)) || exit 1
echo "check-runtime-deps: every library of $checked binaries comes from the runtime packages' closure"
