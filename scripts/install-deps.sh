#!/usr/bin/env bash
# Installs every Debian 12 package marquee needs to build, test and run locally.
#
#   scripts/install-deps.sh            install what is missing (root), or do nothing
#   scripts/install-deps.sh --list     print the package list and exit (with --build/--runtime: that set)
#   scripts/install-deps.sh --build    only what compiling needs (Dockerfile build stage)
#   scripts/install-deps.sh --runtime  only the runtime libraries (Dockerfile runtime stage; checked
#                                      against what the binaries load by check-runtime-deps.sh)
#
# Idempotent and quick when everything is present: `apt-get update` runs only when something is
# missing. Installing rabbitmq-server and postgresql may start their system services; marquee never
# uses those (scripts/services.sh runs private instances), so that is harmless.
set -euo pipefail

# Build: compilers, CMake, the libraries cmake/dependencies.cmake finds (all the Dockerfile's build
# stage needs: it configures with MARQUEE_TESTS=OFF and MARQUEE_BENCH=OFF).
build_packages=(
    g++ make cmake ninja-build pkg-config git ca-certificates
    libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
    libpqxx-dev libpugixml-dev libfmt-dev librabbitmq-dev libssl-dev libcli11-dev libcurl4-openssl-dev
    libhowardhinnant-date-dev libxxhash-dev
)
# Tests, benchmarks, make fuzz (libFuzzer is in libclang-rt), make format / format-check.
test_packages=(libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev clang-format)
# Test and local-run services plus the tools the scripts call (pg_ctl, rabbitmqctl, ss, pgrep, curl).
service_packages=(
    postgresql-15 postgresql-client-15 rabbitmq-server
    tzdata procps iproute2 util-linux curl coreutils
    # fetcher_test makes a throw-away TLS certificate with the openssl command
    openssl
)
# `make bench` (HTTP load), `.ci/run` (docker-compose validation, deploy/check.sh: promtool,
# python3-yaml, haproxy -c, kubectl kustomize), scripts/image-check.sh (a Docker engine and a base
# image made with debootstrap, since no registry is reachable), scripts/cluster.sh (haproxy).
tool_packages=(wrk docker-compose nginx-light prometheus python3-yaml haproxy docker.io debootstrap)
# Debian's kubectl is kubernetes-client, unless another kubectl package (which owns /usr/bin/kubectl
# and would conflict) is installed already.
command -v kubectl >/dev/null || tool_packages+=(kubernetes-client)
# `make shellcheck` and `make tidy` (both in .ci/run); clang-tidy is Debian 12's, version 14 like clang.
lint_packages=(shellcheck clang-tidy)
# What the binaries need at run time (Dockerfile runtime stage).
runtime_packages=(
    libpqxx-6.4 libpugixml1v5 libfmt9 librabbitmq4 libssl3 libcurl4 libxxhash0 libdate-tz3
    libboost-json1.81.0 libboost-container1.81.0 libboost-url1.81.0 tzdata ca-certificates
)

mode=all
list=false
for argument in "$@"; do
    case "$argument" in
        --list) list=true ;;
        --build) mode=build ;;
        --runtime) mode=runtime ;;
        -h | --help)
            sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "install-deps.sh: unknown option '$argument' (try --help)" >&2
            exit 2
            ;;
    esac
done

if [[ $mode == runtime ]]; then
    packages=("${runtime_packages[@]}")
elif [[ $mode == build ]]; then
    packages=("${build_packages[@]}")
else
    packages=("${build_packages[@]}" "${test_packages[@]}" "${service_packages[@]}" "${tool_packages[@]}"
        "${lint_packages[@]}")
fi

if [[ $list == true ]]; then
    printf '%s\n' "${packages[@]}"
    exit 0
fi

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages already installed"
    exit 0
fi

if ((EUID != 0)); then
    echo "install-deps: missing packages (${missing[*]}); run as root: sudo $0" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
