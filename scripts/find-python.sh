#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter that can create virtual
# environments (pygeoapi >= 0.22 needs Python >= 3.12).
#
# Tried in order: $PYTHON, python3.12/3.13/3.14 on PATH, pyenv versions
# (3.12 series first, newest patch first), /usr/bin/python3,
# /usr/local/bin/python3.1[2-9]. 3.12 comes first because twin is developed and
# tested on it and every binary wheel it needs exists for it.
# Each candidate is run, not just found: a pyenv shim exists on PATH even when
# its version is not active, and Debian ships Python without ensurepip unless
# python3.X-venv is installed. The path printed is the real interpreter, never
# a shim or a virtual environment's python.
set -uo pipefail

# Prints the base interpreter when it is >= 3.12 and has venv + ensurepip.
probe='import sys, os, venv, ensurepip
if sys.version_info < (3, 12):
    sys.exit(1)
base = getattr(sys, "_base_executable", "") or sys.executable
print(base if os.access(base, os.X_OK) else sys.executable)'

try() {
    local candidate=$1 found
    [[ -n $candidate ]] || return 1
    found=$(cd / && "$candidate" -c "$probe" 2>/dev/null) || return 1
    [[ -n $found ]] || return 1
    printf '%s\n' "$found"
    exit 0
}

if [[ -n ${PYTHON:-} ]]; then
    try "$PYTHON" || echo "find-python: ignoring PYTHON=$PYTHON (not Python >= 3.12 with venv)" >&2
fi

for name in python3.12 python3.13 python3.14; do
    try "$(command -v "$name" 2>/dev/null)"
done

pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
for minor in 12 13 14 15 16 17 18 19; do
    while IFS= read -r candidate; do
        try "$candidate"
    done < <(compgen -G "$pyenv_root/versions/3.$minor.*/bin/python3" | sort -rV)
done

try /usr/bin/python3
while IFS= read -r candidate; do
    try "$candidate"
done < <(compgen -G "/usr/local/bin/python3.1[2-9]" | sort -rV)

cat >&2 <<'EOF'
find-python: no Python >= 3.12 with a working venv module found.
  twin builds on pygeoapi >= 0.22, which needs Python >= 3.12. Get one, then rerun
  (or point PYTHON at it: make install PYTHON=/path/to/python3.12):
    Ubuntu 24.04:  sudo apt install python3.12-venv
    Ubuntu 22.04:  sudo add-apt-repository ppa:deadsnakes/ppa && sudo apt install python3.12-venv
    Debian 12:     pyenv install 3.12   (https://github.com/pyenv/pyenv)
                   or uv python install 3.12   (https://docs.astral.sh/uv/)
EOF
exit 1
