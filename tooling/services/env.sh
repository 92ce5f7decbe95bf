# shellcheck shell=bash
# Source me: `. tooling/services/env.sh` exports the LARDER_* connection variables.
# Values come from env.defaults next to this file; variables already set (non-empty) keep their value.
_larder_env_file="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/env.defaults"
while IFS='=' read -r _larder_k _larder_v; do
  case "$_larder_k" in ''|'#'*) continue ;; esac
  # unset or empty -> default (same rule as env.mjs)
  if [ -z "${!_larder_k:-}" ]; then export "$_larder_k=$_larder_v"; else export "${_larder_k?}"; fi
done < "$_larder_env_file"
unset _larder_env_file _larder_k _larder_v
