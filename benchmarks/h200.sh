#!/bin/bash
# The suite and the benchmarks on an NVIDIA GPU machine without network (the H200 machine of
# the issues), in two parts of about 4 minutes each:
#
#   bash benchmarks/h200.sh setup        install the carried wheels (.whl-mid/*.whl) and pxos
#   bash benchmarks/h200.sh 1            the cuda suite, the webgpu tests on NVIDIA's Vulkan
#                                        driver, gpu.py and ternary.py
#   bash benchmarks/h200.sh 2            overheads, calibration, planning, placement, profiler,
#                                        pipeline scaling and end to end, nvCOMP, the C suite
#                                        on all cores
#
# The wheels are those pxos needs that the machine's image lacks (lark, cryptography, cffi,
# pycparser, zstandard, lz4, crc32c, wgpu, sniffio, nvidia-nvcomp-cu13, hatchling,
# trove-classifiers, tritlib, balanced-ternary, jsonschema and its needs), downloaded for CPython 3.12
# manylinux x86-64; `.whl-mid/vulkan/libvulkan.so.1` is the Vulkan loader (Debian libvulkan1).
# Figures go to stdout; JSON results to $OUT (or benchmarks/results when OUT is unset).
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1 PATH=/tmp/site/bin:$PATH
OUT=${OUT:-benchmarks/results}
mkdir -p "$OUT"
step() { echo; echo "=== $* ($(date +%T), load $(cut -d' ' -f1 /proc/loadavg))"; }

setup() {
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl-mid/*.whl || exit 1
    python3 -m pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1 ||
        echo "pxos not installed (PYTHONPATH has src)"
}

part1() {
    step "cuda suite"
    PXOS_REQUIRE_BACKENDS=cuda timeout -k 5 230 python3 -m pytest -q -x -n 16 \
        -p no:cacheprovider tests 2>&1 | tail -25
    step "webgpu tests on NVIDIA"
    LD_LIBRARY_PATH=$PWD/.whl-mid/vulkan timeout -k 3 150 python3 benchmarks/webgpu_tests.py \
        --nvidia-egl --batch 12 --timeout 50 --out "$OUT/webgpu_tests.json" 2>&1 | tail -8
    step "gpu.py"
    timeout -k 3 90 python3 benchmarks/gpu.py --repeat 3 --out "$OUT/gpu.json" 2>&1 | tail -40
    step "ternary.py --gpu-only"
    timeout -k 3 60 python3 benchmarks/ternary.py --gpu-only --out "$OUT/ternary.json" 2>&1 | tail -20
}

part2() {
    step "call overhead on c"
    OMP_NUM_THREADS=1 timeout -k 3 30 python3 benchmarks/cpu.py --only-overhead --repeat 9 \
        --out "$OUT/cpu_overhead.json" 2>&1 | tail -12
    step "calibrate"
    timeout -k 3 30 python3 benchmarks/startup.py --only-calibrate --calibrate-repeat 3 \
        --out "$OUT/startup.json" 2>&1 | tail -6
    step "planning"
    timeout -k 3 60 python3 benchmarks/planning.py --devices c,cuda --runs 200 --size 200 \
        --repeat 7 --out "$OUT/planning.json" 2>&1 | tail -12
    step "placement"
    timeout -k 3 170 python3 benchmarks/placement.py --out "$OUT/placement.json" 2>&1 | tail -14
    step "profiler"
    timeout -k 3 40 python3 benchmarks/profile_overhead.py --device cuda --out "$OUT/profile.json" 2>&1 | tail -10
    timeout -k 3 20 python3 benchmarks/profile_overhead.py --device cuda --only-cuda-events 2>&1 | tail -5
    step "pipeline cores"
    timeout -k 3 45 python3 benchmarks/pipeline_cores.py --pick-cores 2 --mib 128 --repeat 5 \
        --out "$OUT/pipeline_cores.json" 2>&1 | tail -14
    timeout -k 3 18 python3 benchmarks/pipeline_cores.py --pick-cores 2 --mib 128 --repeat 5 \
        --min-run-ms 150 --only aes256ctr chacha20 aes256gcm_seal lz4_decompress \
        crc32c_per_part --out "$OUT/pipeline_cores_150ms.json" 2>&1 | tail -8
    step "pipeline end to end (cuda, a 2 GiB file to file)"
    timeout -k 3 40 python3 benchmarks/pipeline_e2e.py --mib 2048 --device cuda --repeat 2 \
        --dir /tmp --out "$OUT/pipeline_e2e.json" 2>&1 | tail -8
    step "nvCOMP"
    timeout -k 3 40 python3 benchmarks/compress_gpu.py --mib 256 --codecs lz4 zstd \
        --data logs mortgage --out "$OUT/compress_gpu.json" 2>&1 | tail -10
    step "C suite, default threads"
    timeout -k 3 120 python3 benchmarks/suite.py --modes default --repeat 7 \
        --out "$OUT/suite.json" 2>&1 | tail -25
}

case "${1:-}" in
    setup) setup ;;
    1) part1 ;;
    2) part2 ;;
    *) echo "usage: bash benchmarks/h200.sh setup|1|2" >&2; exit 2 ;;
esac
