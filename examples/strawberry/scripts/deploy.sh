#!/usr/bin/env bash
# "Deploys" the package to target $1: unpacks it into out/targets/$1.
set -euo pipefail
target=$1
if [ -z "${PACKAGE:-}" ]; then
  echo "no package in this run: \$PACKAGE comes from build/package (run it first, or use --to)" >&2
  exit 1
fi
mkdir -p "out/targets/$target"
tar -xzf "$PACKAGE" -C "out/targets/$target"
echo "deployed $(cat "out/targets/$target/VERSION") to $target"
echo "DEPLOYED_${target^^}=out/targets/$target" >>"$GANTRY_CONTEXT"
