#!/usr/bin/env bash
# Install the system packages twin needs, and only those that are missing.
#
#   postgresql-<ver>-postgis-3  embedded PostGIS cluster (pulls in postgresql-<ver>)
#   gdal-bin                    ogrinfo, which the tests drive the server with
#   mosquitto                   MQTT broker for live sensor feeds
#   fonts-dejavu-core           labels in rendered maps and reports
#   libpq5                      PostgreSQL client library
#
# With --test, also what the end-to-end tests drive twin with:
#   chromium                    the web viewer, opened headless by Playwright
#   poppler-utils               pdftoppm/pdftotext: PDF reports rendered and read back
#   python3-qgis qgis-providers QGIS itself (offscreen) opening twin's QGIS project
#
# Idempotent and fast (one dpkg-query) when everything is there; runs
# `apt-get update` only when something must be installed. Uses sudo when not
# root. Debian 12 and Ubuntu 22.04/24.04; <ver> is $TWIN_PG_VERSION when set,
# else that of an installed PostgreSQL server, else the distribution's default
# (what the `postgresql` package depends on: 15 on Debian 12, 14 on Ubuntu
# 22.04, 16 on Ubuntu 24.04).
#
#   scripts/install-deps.sh           install what is missing
#   scripts/install-deps.sh --test    also the test tools above (make test)
#   scripts/install-deps.sh --check   only report; exit 1 when something is missing
#   TWIN_SKIP_DEPS=1                  skip entirely (packages managed elsewhere)
set -euo pipefail

say() { printf 'install-deps: %s\n' "$*"; }
die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

check_only=0
with_tests=0
for arg in "$@"; do
    case "$arg" in
        --check) check_only=1 ;;
        --test) with_tests=1 ;;
        *) die "unknown argument '$arg' (use --check, --test or nothing)" ;;
    esac
done

if [[ ${TWIN_SKIP_DEPS:-0} == 1 ]]; then
    say "TWIN_SKIP_DEPS=1: not checking system packages"
    exit 0
fi

command -v dpkg-query >/dev/null 2>&1 || die "no dpkg-query: this script knows Debian and Ubuntu only.
  Install by hand: PostgreSQL with PostGIS 3, GDAL's ogrinfo, mosquitto, DejaVu fonts and libpq,
  then run with TWIN_SKIP_DEPS=1 (or set TWIN_DATABASE_URL to an existing PostGIS)."

# The installed packages among the arguments (dpkg-query patterns allowed).
installed() {
    dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
        awk '$2 != "deinstall" && $2 != "purge" && $4 == "installed" { print $1 }' || true
}

base=(gdal-bin mosquitto fonts-dejavu-core libpq5)
((with_tests)) && base+=(chromium poppler-utils python3-qgis qgis-providers)
have=$(installed "${base[@]}" 'postgresql-*-postgis-3' 'postgresql-[0-9]*')

missing=()
for pkg in "${base[@]}"; do
    grep -qxF "$pkg" <<<"$have" || missing+=("$pkg")
done
postgis=$(grep -xE 'postgresql-[0-9.]+-postgis-3' <<<"$have" | sort -V | tail -n 1 || true)

if [[ -n $postgis && ${#missing[@]} -eq 0 ]]; then
    say "system packages present ($postgis ${base[*]})"
    exit 0
fi

need=("${missing[@]}")
[[ -n $postgis ]] || need+=("postgresql-<ver>-postgis-3")
if ((check_only)); then
    say "missing: ${need[*]}"
    exit 1
fi

if ((EUID == 0)); then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    # Without a terminal sudo cannot ask for a password: fail instead of hanging.
    if [[ -t 0 ]]; then sudo=(sudo); else sudo=(sudo -n); fi
else
    die "missing: ${need[*]}. Installing them needs root and sudo is not available;
  run this script as root, or ask an administrator to run: apt-get install ${need[*]}"
fi

apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
say "missing: ${need[*]}"
say "running: ${sudo[*]:+${sudo[*]} }apt-get update"
"${apt[@]}" update -qq || die "apt-get update failed (no root/sudo rights, or no network?)"

if [[ -z $postgis ]]; then
    version=${TWIN_PG_VERSION:-}
    if [[ -z $version ]]; then
        version=$(grep -xE 'postgresql-[0-9.]+' <<<"$have" | sed 's/^postgresql-//' |
            sort -V | tail -n 1 || true)
    fi
    if [[ -z $version ]]; then
        version=$(apt-cache depends postgresql 2>/dev/null |
            sed -nE 's/^ *Depends: postgresql-([0-9.]+)$/\1/p' | sort -V | tail -n 1 || true)
    fi
    [[ -n $version ]] || die "cannot tell which PostgreSQL version this system packages
  (apt-cache depends postgresql gave nothing); set TWIN_PG_VERSION (e.g. 15) and rerun."
    postgis=postgresql-$version-postgis-3
    candidate=$(apt-cache policy "$postgis" 2>/dev/null | sed -nE 's/^ *Candidate: (.*)$/\1/p')
    [[ -n $candidate && $candidate != "(none)" ]] || die "no package $postgis in the apt sources
  (on Ubuntu, enable the 'universe' component)."
    missing=("$postgis" "${missing[@]}")
fi

say "running: ${sudo[*]:+${sudo[*]} }apt-get install -y --no-install-recommends ${missing[*]}"
"${apt[@]}" install -y -q --no-install-recommends "${missing[@]}" ||
    die "apt-get install ${missing[*]} failed (see above)"
say "installed: ${missing[*]}"
