#!/usr/bin/env bash
# Builds the "app": a tarball whose content names the version.
set -euo pipefail
mkdir -p out/src
echo "strawberry $GANTRY_VERSION" > out/src/VERSION
tar -czf out/strawberry.tar.gz -C out/src VERSION
echo "built strawberry $GANTRY_VERSION"
echo "PACKAGE=$PWD/out/strawberry.tar.gz" >>"$GANTRY_CONTEXT"
