#!/bin/bash
# Device call 1 of 2 (carry build/int8-device-a, from benchmarks/int8_device_prep.sh): install
# OpenVINO into build/ov-site, a git-ignored folder that stays while the machine is warm, and
# print what the host CPU has for INT8 (VNNI, AMX). About 30 s.
set -u
W=build/int8-device-a
rm -rf build/ov-site && mkdir -p build/ov-site
if python3 -m pip --version >/dev/null 2>&1; then
  timeout -k 3 240 python3 -m pip install -q --no-index --no-deps --target build/ov-site $W/*.whl
else   # a wheel is a zip: unpacked into the folder, a package that needs no build is installed
  timeout -k 3 240 python3 -c "import sys, zipfile; [zipfile.ZipFile(w).extractall('build/ov-site') for w in sys.argv[1:]]" $W/*.whl
fi
echo "installed: $(ls build/ov-site | tr '\n' ' ')"
PYTHONPATH=build/ov-site:${PYTHONPATH:-} timeout -k 3 60 python3 -c "
import openvino as ov
c = ov.Core()
print('openvino', ov.__version__, c.available_devices)
print('CPU:', c.get_property('CPU', 'FULL_DEVICE_NAME'))
print('capabilities:', c.get_property('CPU', 'OPTIMIZATION_CAPABILITIES'))"
echo "INT8 flags: $(grep -o -w -E 'avx512_vnni|avx_vnni|amx_int8|amx_bf16|avx512_bf16|avx512f' /proc/cpuinfo | sort | uniq -c | tr '\n' ' ')"
echo "cpus: $(nproc)"
