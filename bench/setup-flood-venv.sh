#!/usr/bin/env bash
# Create bench/.venv-flood: richdem, pysheds and scikit-image, the depression-filling
# tools bench/flood.py compares twin with. Kept apart from twin's .venv (older NumPy).
#
#   bash bench/setup-flood-venv.sh [--force]
#
# Python: $PYTHON, else python3.11. richdem 0.3.4 ships only an sdist whose bundled
# pybind11 does not compile on Python >= 3.11, so it is built here with the headers of
# the pybind11 package swapped in. A tool that still fails is skipped by the benchmark.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=$here/.venv-flood
req=$here/requirements-flood.txt
[[ ${1:-} == --force ]] && rm -rf "$venv"
if [[ ! -x $venv/bin/python ]]; then
    "${PYTHON:-python3.11}" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" -r "$req"
if ! "$venv/bin/python" -c "import richdem" 2>/dev/null; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    "$venv/bin/python" -m pip download --quiet --no-deps --no-binary :all: richdem==0.3.4 -d "$work"
    tar -xzf "$work"/richdem-0.3.4.tar.gz -C "$work"
    inc=$("$venv/bin/python" -c "import pybind11; print(pybind11.get_include())")
    rm -rf "$work/richdem-0.3.4/lib/pybind11"
    cp -r "$inc/pybind11" "$work/richdem-0.3.4/lib/pybind11"
    "${pip[@]}" --no-build-isolation "$work/richdem-0.3.4" \
        || echo "setup-flood-venv: richdem could not be built; bench/flood.py will skip it"
fi
"$venv/bin/python" -c "import numpy, skimage, pysheds; print('setup-flood-venv: numpy', numpy.__version__, 'scikit-image', skimage.__version__)"
