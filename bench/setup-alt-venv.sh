#!/usr/bin/env bash
# Create bench/.venv-alt: tipg and stock pygeoapi, the servers bench/features.py compares
# twin with. Kept apart from twin's .venv so their pins never touch twin's.
#
#   bash bench/setup-alt-venv.sh [--force]
#
# Python: $PYTHON, else scripts/find-python.sh (3.12 first). Re-running is cheap: an
# existing venv that already satisfies bench/requirements-alt.txt is left as it is.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
venv=$here/.venv-alt
req=$here/requirements-alt.txt

if [[ ${1:-} == --force ]]; then
    rm -rf "$venv"
fi

if [[ ! -x $venv/bin/python ]]; then
    python=${PYTHON:-}
    if [[ -z $python ]]; then
        python=$(bash "$root/scripts/find-python.sh")
    fi
    echo "setup-alt-venv: creating $venv with $python"
    "$python" -m venv "$venv"
fi

stamp=$venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    echo "setup-alt-venv: $venv is up to date"
    exit 0
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
"$venv/bin/python" -c "import tipg, pygeoapi; print('setup-alt-venv: tipg', tipg.__version__, '/ pygeoapi', pygeoapi.__version__)"
echo "$want" > "$stamp"
