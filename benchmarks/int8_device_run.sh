#!/bin/bash
# Device call 2 of 2, on the same warm machine right after int8_device_install.sh (carry
# build/int8-device-b only; build/ov-site must stay as call 1 left it): install the NNCF
# wheels the machine lacks into build/ov-site, then run benchmarks/int8_device.py (INT8 recipes
# against FP32: speed at batch 32 x 128 and accuracy on 1,000 verses), then
# benchmarks/inference.py's benchmark_app and overhead parts. About 6-9 minutes.
# Output: ${OUT:-benchmarks/results}/int8-device.json and its last lines on stdout.
set -u
W=build/int8-device-b
test -d build/ov-site/openvino || { echo "build/ov-site/openvino missing: run int8_device_install.sh first, on the same warm machine"; exit 2; }
export PYTHONPATH=$PWD/build/ov-site:${PYTHONPATH:-}
missing=$(python3 -c "
import importlib.util as u
wheels = {'nncf': 'nncf', 'pydot': 'pydot', 'pyparsing': 'pyparsing', 'tabulate': 'tabulate',
          'psutil': 'psutil', 'rich': 'rich', 'markdown_it': 'markdown_it_py', 'mdurl': 'mdurl',
          'pygments': 'pygments', 'ninja': 'ninja', 'networkx': 'networkx', 'joblib': 'joblib',
          'threadpoolctl': 'threadpoolctl', 'safetensors': 'safetensors'}
print(' '.join(w for m, w in wheels.items() if u.find_spec(m) is None))")
echo "installing: $missing"
files=""; for w in $missing; do files="$files $(ls $W/wheels/${w}-*.whl)"; done
if [ -n "$files" ]; then
  if python3 -m pip --version >/dev/null 2>&1; then
    timeout -k 3 60 python3 -m pip install -q --no-index --no-deps --target build/ov-site $files
  else
    timeout -k 3 60 python3 -c "import sys, zipfile; [zipfile.ZipFile(w).extractall('build/ov-site') for w in sys.argv[1:]]" $files
  fi
fi
python3 -c "import nncf, openvino, sklearn, scipy; print('nncf', nncf.__version__, 'openvino', openvino.__version__)" || exit 3
export PXOS_VERSES_FILE=$PWD/$W/verses.txt
timeout -k 3 330 python3 benchmarks/int8_device.py --model $W/minilm-fp16 \
  --out ${OUT:-benchmarks/results}/int8-device.json 2>&1 | grep -v -E 'Warning|warn\(|━' | tail -60
# pxos.infer against benchmark_app on this quiet 16-core CPU (same IR, f32, batch 32 x 128),
# and the per-call overhead, on the FP32 folder int8_device.py made
timeout -k 3 150 python3 benchmarks/inference.py --parts overhead,benchmark_app --repeat 3 \
  --niter 12 --model build/int8-device/minilm-fp32 \
  --out ${OUT:-benchmarks/results}/inference-device.json 2>&1 | grep -v -E 'Warning|warn\(' | tail -40
