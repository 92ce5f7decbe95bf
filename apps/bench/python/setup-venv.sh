#!/usr/bin/env bash
# Creates (or reuses) the Python virtualenv of one bench peer and prints its interpreter's path.
# The requirements are pinned in apps/bench/python/<name>.requirements.txt and installed from PyPI
# with ordinary pip (no index URL here: pip's own configuration applies). Idempotent: a venv whose
# marker holds the same requirements file is reused without touching the network.
#
# Usage: setup-venv.sh <name>            e.g. setup-venv.sh redis-vector
# Env:   LARDER_PYTHON_HOME  where the venvs live (default ${XDG_CACHE_HOME:-~/.cache}/larder-python)
#        LARDER_PYTHON       the interpreter to create them with (default python3)
# Prints one line: the venv's bin/python.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
name="${1:?usage: setup-venv.sh <name>}"
[[ "$name" =~ ^[a-z0-9-]+$ ]] || { echo "setup-venv: bad name '$name'" >&2; exit 1; }
req="$here/$name.requirements.txt"
[ -f "$req" ] || { echo "setup-venv: no $req" >&2; exit 1; }
home="${LARDER_PYTHON_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/larder-python}"
py="${LARDER_PYTHON:-python3}"
command -v "$py" >/dev/null 2>&1 || { echo "setup-venv: $py not found (set LARDER_PYTHON)" >&2; exit 1; }
mkdir -p "$home"
# One setup at a time per home (the interop suite's setup-venvs.sh takes the same lock).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$home/.setup.lock"
  flock 9
fi
dir="$home/bench-$name"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -f "$dir/.larder-ready" ] && [ "$(cat "$dir/.larder-ready")" = "$want" ] && [ -x "$dir/bin/python" ]; then
  echo "$dir/bin/python"
  exit 0
fi
# Built in a temp dir and renamed: a killed run never leaves a half venv that looks ready.
tmp="$dir.tmp.$$"
rm -rf "$tmp"
echo "setup-venv: creating $dir from $req" >&2
trap 'rm -rf "$tmp"' EXIT
"$py" -m venv "$tmp"
"$tmp/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
echo "$want" > "$tmp/.larder-ready"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$dir/bin/python"
