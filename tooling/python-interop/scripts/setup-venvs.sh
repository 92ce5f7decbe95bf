#!/usr/bin/env bash
# Creates one Python virtualenv per llama-index-core version the interop suite runs against, and
# installs that version from PyPI with ordinary pip (by package name, no index URL here: pip's own
# configuration applies). Idempotent: a venv whose marker file names the same version and
# requirement is reused without touching the network.
#
# Usage: setup-venvs.sh [version...]        (default: every version in ../versions.txt; the extra
#        requirements listed there for a version are installed with it)
# Env:   LARDER_PYTHON_HOME  where the venvs live (default ${XDG_CACHE_HOME:-~/.cache}/larder-python)
#        LARDER_PYTHON       the interpreter to create them with (default python3)
# Prints one line per version: "<version> <venv dir>".
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
home="${LARDER_PYTHON_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/larder-python}"
py="${LARDER_PYTHON:-python3}"
if [ "$#" -gt 0 ]; then versions=("$@"); else mapfile -t versions < <(grep -vE '^\s*(#|$)' "$here/versions.txt" | awk '{print $1}'); fi
command -v "$py" >/dev/null 2>&1 || { echo "setup-venvs: $py not found (set LARDER_PYTHON)" >&2; exit 1; }
mkdir -p "$home"
# One setup at a time per home (two test runs starting together): the second waits, then reuses.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$home/.setup.lock"
  flock 9
fi
for v in "${versions[@]}"; do
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "setup-venvs: bad version '$v'" >&2; exit 1; }
  dir="$home/llama-index-core-$v"
  extras="$(awk -v v="$v" '$1 == v { $1 = ""; print }' "$here/versions.txt" | xargs)"
  want="llama-index-core==$v${extras:+ $extras}"
  if [ -f "$dir/.larder-ready" ] && [ "$(cat "$dir/.larder-ready")" = "$want" ] && [ -x "$dir/bin/python" ]; then
    echo "$v $dir"
    continue
  fi
  # Build in a temp dir next to the final one and rename: a killed run never leaves a half venv
  # that looks ready.
  tmp="$dir.tmp.$$"
  rm -rf "$tmp"
  echo "setup-venvs: creating $dir ($want)" >&2
  trap 'rm -rf "$tmp"' EXIT
  "$py" -m venv "$tmp"
  # shellcheck disable=SC2086 # $extras is a list of requirements
  "$tmp/bin/python" -m pip install --quiet --disable-pip-version-check "llama-index-core==$v" $extras >&2
  # Importing 0.10.x tries to fetch NLTK data from GitHub: proxies at a closed port make that fail
  # at once (it only logs), as in the tests.
  HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY= \
    "$tmp/bin/python" -c "import llama_index.core, sys; assert llama_index.core.__version__ == sys.argv[1], llama_index.core.__version__" "$v"
  echo "$want" > "$tmp/.larder-ready"
  rm -rf "$dir"
  # Only bin/python is used (a symlink), so the move does not break what the suite runs.
  mv "$tmp" "$dir"
  trap - EXIT
  echo "$v $dir"
done
