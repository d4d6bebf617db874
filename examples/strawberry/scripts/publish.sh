#!/usr/bin/env bash
# Publishes once both targets passed; both deployments are known from the run's context.
set -euo pipefail
echo "publishing strawberry $GANTRY_VERSION (verified on $DEPLOYED_A and $DEPLOYED_B)"
