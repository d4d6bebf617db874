#!/usr/bin/env bash
# "Deploys" the package to target $1: unpacks it into out/targets/$1.
set -euo pipefail
target=$1
mkdir -p "out/targets/$target"
tar -xzf "$PACKAGE" -C "out/targets/$target"
echo "deployed $(cat "out/targets/$target/VERSION") to $target"
echo "DEPLOYED_${target^^}=out/targets/$target" >>"$GANTRY_CONTEXT"
