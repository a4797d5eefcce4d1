#!/usr/bin/env bash
# The piano v2 run's round trip through a lent GPU (docs/piano.md, "On a lent GPU").
#
#   training/piano/device_round_trip.sh prepare      # here: fills .gpu/ (ignored by git, carried by the device tool)
#   training/piano/device_round_trip.sh run [ARGS]   # there: resumes, trains MINUTES, writes shards to $OUT
#                                                    # (ARGS: more `encore train piano` options)
#
# `prepare` packs the prepared v2 cache, downloads the wheels the device image lacks (miditok, symusic and
# theirs, for its Python 3.12) and puts the run's state beside them: its shards if it has some, else the
# latest export's weights (a warm start there). `run` installs those wheels and Encore without
# dependencies, unpacks the cache and trains in bf16 on CUDA (DEVICE=cpu and small sizes test it here).
set -euo pipefail
cd "$(dirname "$0")/../.."
GPU=.gpu
RUN=${RUN:-runs/piano-v2}
DEVICE=${DEVICE:-cuda}
MINUTES=${MINUTES:-8}
BATCH=${BATCH:-64}
STEPS=${STEPS:-6000}
PY=${PY:-python3}

command=${1:-}
shift || true
case "$command" in
prepare)
    mkdir -p "$GPU/whl" "$GPU/state"
    grep -qx "/$GPU/" .git/info/exclude 2>/dev/null || echo "/$GPU/" >> .git/info/exclude
    .venv/bin/encore data piano --v2 --pack "$GPU/piano-v2-data.npz"
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d "$GPU/whl" miditok==3.1.0 symusic pySmartDL platformdirs
    if ls "$RUN"/state-*.safetensors >/dev/null 2>&1; then
        cp "$RUN"/state-*.safetensors "$GPU/state/"
    elif [ -f "$RUN/export/model.safetensors" ]; then
        mkdir -p "$GPU/init" && cp "$RUN"/export/{model.safetensors,config.json,tokenizer.json} "$GPU/init/"
    fi
    du -sh "$GPU"
    ;;
run)
    $PY -c "import miditok, symusic" 2>/dev/null || $PY -m pip install -q --no-index --no-deps --no-compile "$GPU"/whl/*.whl
    $PY -m pip install -q --no-index --no-deps --no-build-isolation -e .
    $PY -m encore.stage.cli data unpack "$GPU/piano-v2-data.npz"
    out=${OUT:-$GPU/out}
    mkdir -p "$out"
    cp "$GPU"/state/state-*.safetensors "$out/" 2>/dev/null || true   # the run resumes from these
    init=()
    [ -d "$GPU/init" ] && init=(--init-from "$GPU/init")
    $PY -m encore.stage.cli train piano --v2 --augment --context-length 2048 --crop 2048 \
        --batch-size "$BATCH" --steps "$STEPS" --max-minutes "$MINUTES" --device "$DEVICE" \
        --run-dir "$RUN-device" --state-shards "$out" "${init[@]}" --eval-every 200 --final-eval-windows 64 "$@"
    ;;
*)
    echo "usage: $0 prepare|run" >&2
    exit 2
    ;;
esac
