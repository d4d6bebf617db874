#!/usr/bin/env bash
# Tests target $1: the deployed version must be the one this run built.
set -euo pipefail
target=$1
dir_var="DEPLOYED_${target^^}"
if [ -z "${!dir_var:-}" ]; then
  echo "nothing deployed to $target in this run: \$$dir_var comes from deploy-$target (run it first, or use --to)" >&2
  exit 1
fi
deployed=$(cat "${!dir_var}/VERSION")
test "$deployed" = "strawberry $GANTRY_VERSION"
echo "target $target runs $deployed"
