#!/bin/sh
# Runs before every npm script: installs the npm dependencies on a fresh clone (Node 20 cannot run
# TypeScript by itself, so this one step is plain shell).
set -e
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/tsx ] || [ ! -x node_modules/.bin/asc ]; then
  echo "Installing npm dependencies (npm ci)..."
  npm ci --no-audit --no-fund
fi
