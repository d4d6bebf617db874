#!/usr/bin/env bash
# Tests target $1: the deployed version must be the one this run built.
set -euo pipefail
target=$1
dir_var="DEPLOYED_${target^^}"
deployed=$(cat "${!dir_var}/VERSION")
test "$deployed" = "strawberry $GANTRY_VERSION"
echo "target $target runs $deployed"
