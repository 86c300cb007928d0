#!/usr/bin/env bash
# Runs the packed CUDA conformance tests and GPU benchmark (tools/gpu_bundle/
# pack.sh) on a machine that has an NVIDIA driver and nothing else installed.
# docs/gpu.md.
#
#   gpu_bundle/run.sh [options] [-- gpu_bench arguments]
#
#   --out DIR          results folder (default: $OUT if set, else ./results)
#   --quick            pass --quick to gpu_bench (fewer timed runs)
#   --tests-only       skip the benchmark
#   --bench-only       skip the tests
#   --allow-no-device  go on without a usable CUDA device (the tests then
#                      skip every case and the benchmark exits 2); for
#                      checking the bundle itself on a machine without a GPU
#
# Writes to the results folder: nvidia-smi.txt, device.txt, <test>.xml (gtest
# XML) and <test>.log for conformance_cuda_test and gpu_cases_cuda_test,
# gpu_bench.md (the report) and gpu_bench.log, and summary.txt.
# Exit status: 0 all passed; 1 a test failed; 2 no usable CUDA device;
# 3 the tests passed but the benchmark failed (a check or an op).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${OUT:-$PWD/results}
bench_args=()
run_tests=1
run_bench=1
allow_no_device=0
while (($#)); do
  case "$1" in
    --out)
      out=$2
      shift
      ;;
    --out=*) out=${1#--out=} ;;
    --quick) bench_args+=(--quick) ;;
    --tests-only) run_bench=0 ;;
    --bench-only) run_tests=0 ;;
    --allow-no-device) allow_no_device=1 ;;
    --)
      shift
      bench_args+=("$@")
      break
      ;;
    -h | --help)
      sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "run.sh: unknown argument '$1' (see --help)" >&2
      exit 64
      ;;
  esac
  shift
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
summary="$out/summary.txt"
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }

# A compressed bundle is unpacked into a temporary folder (the bundle folder
# may be read-only, and the results folder should hold only results).
root=$here
if [[ ! -d $here/bin && -f $here/payload.tar.gz ]]; then
  root=$(mktemp -d "${TMPDIR:-/tmp}/tapconv_gpu_bundle.XXXXXX") || exit 1
  trap 'rm -rf "$root"' EXIT
  tar -C "$root" -xzf "$here/payload.tar.gz" || {
    echo "run.sh: cannot unpack $here/payload.tar.gz" >&2
    exit 1
  }
fi
bin="$root/bin"
lib="$root/lib"
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

say "tapconv GPU bundle: $(sed -n 2p "$here/MANIFEST.txt" 2>/dev/null)"

# glibc: the binaries need at least the packer's version; a packed glibc
# (pack.sh --with-glibc) stands in for an older one.
launcher=()
need=$(cat "$here/GLIBC_REQUIRED" 2>/dev/null || echo 0)
have=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
if [[ -n $have && $(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1) != "$need" ]]; then
  if [[ -x $lib/glibc/ld-linux-x86-64.so.2 ]]; then
    say "glibc $have is older than the $need the binaries need: using the packed glibc"
    launcher=("$lib/glibc/ld-linux-x86-64.so.2" --library-path "$lib/glibc:$lib")
  else
    say "warning: glibc $have is older than the $need the binaries need" \
      "(repack with pack.sh --with-glibc)"
  fi
fi

# cuDNN: packed, else the machine's own (the backend also looks in
# /usr/local/cuda/lib64), else the dense-conv baseline and the tests' dense
# convs run on tapconv's direct kernels.
cudnn=""
if [[ -e $lib/libcudnn.so.9 ]]; then
  cudnn="packed ($lib/libcudnn.so.9)"
elif [[ -n ${TAPCONV_CUDNN_LIBRARY:-} && -e ${TAPCONV_CUDNN_LIBRARY} ]]; then
  cudnn="$TAPCONV_CUDNN_LIBRARY"
elif [[ -e /usr/local/cuda/lib64/libcudnn.so.9 ]]; then
  cudnn=/usr/local/cuda/lib64/libcudnn.so.9
elif found=$({ ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null |
  grep -m1 'libcudnn\.so\.9 ' | awk '{print $NF}') &&
  [[ -n $found ]]; then
  cudnn="$found"
else
  IFS=: read -r -a dirs <<<"${LD_LIBRARY_PATH:-}"
  for d in "${dirs[@]}"; do
    [[ -n $d && -e $d/libcudnn.so.9 ]] && cudnn="$d/libcudnn.so.9" && break
  done
fi
if [[ -n ${TAPCONV_CUDA_DENSE_CONV:-} ]]; then
  say "dense conv: TAPCONV_CUDA_DENSE_CONV=$TAPCONV_CUDA_DENSE_CONV (set by the caller)"
elif [[ -n $cudnn ]]; then
  say "dense conv: cuDNN, $cudnn"
else
  export TAPCONV_CUDA_DENSE_CONV=direct
  say "dense conv: no cuDNN found: TAPCONV_CUDA_DENSE_CONV=direct" \
    "(baselines are tapconv's direct conv, not cuDNN)"
fi

if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi >"$out/nvidia-smi.txt" 2>&1
  cat "$out/nvidia-smi.txt"
else
  echo "nvidia-smi not found" >"$out/nvidia-smi.txt"
fi

${launcher[@]+"${launcher[@]}"} "$bin/gpu_bench" --probe >"$out/device.txt" 2>&1
probe=$?
say "device: $(cat "$out/device.txt")"
if ((probe != 0)); then
  if ((probe != 2)); then
    say "the bundle's binaries do not start here (exit $probe); see $out/device.txt"
    exit 1
  fi
  if ((!allow_no_device)); then
    say "no usable CUDA device: nothing run (--allow-no-device runs anyway)"
    exit 2
  fi
fi

# Test name -> the variable that selects its backend.
tests_failed=0
run_test() {
  local name=$1 variable=$2
  local xml="$out/$name.xml" log="$out/$name.log"
  [[ -x $bin/$name ]] || {
    say "$name: not in the bundle"
    tests_failed=1
    return
  }
  echo "== $name"
  env "$variable=cuda" ${launcher[@]+"${launcher[@]}"} "$bin/$name" \
    --gtest_output="xml:$xml" >"$log" 2>&1
  local rc=$?
  local counts="no XML written"
  if [[ -f $xml ]]; then
    local total failures errors skipped
    total=$(grep -m1 -o '<testsuites [^>]*' "$xml" | grep -o ' tests="[0-9]*"' | grep -o '[0-9]*')
    failures=$(grep -m1 -o '<testsuites [^>]*' "$xml" | grep -o ' failures="[0-9]*"' | grep -o '[0-9]*')
    errors=$(grep -m1 -o '<testsuites [^>]*' "$xml" | grep -o ' errors="[0-9]*"' | grep -o '[0-9]*')
    skipped=$(grep -c '<skipped' "$xml")
    counts="${total:-?} tests, ${failures:-?} failed, ${errors:-0} errors, $skipped skipped"
  fi
  say "$name: exit $rc; $counts (log: $log)"
  ((rc == 0)) || tests_failed=1
}

if ((run_tests)); then
  run_test conformance_cuda_test TAPCONV_CONFORMANCE_BACKENDS
  run_test gpu_cases_cuda_test TAPCONV_GPU_TEST_BACKENDS
fi

bench_failed=0
if ((run_bench)); then
  echo "== gpu_bench ${bench_args[*]}"
  ${launcher[@]+"${launcher[@]}"} "$bin/gpu_bench" ${bench_args[@]+"${bench_args[@]}"} \
    >"$out/gpu_bench.md" 2> >(tee "$out/gpu_bench.log" >&2)
  rc=$?
  say "gpu_bench: exit $rc (report: $out/gpu_bench.md)"
  ((rc == 0)) || bench_failed=1
  cat "$out/gpu_bench.md"
fi

if ((tests_failed)); then
  say "RESULT: a test failed"
  exit 1
fi
if ((bench_failed)); then
  if ((probe == 2)); then
    say "RESULT: no CUDA device (tests skipped, benchmark not run)"
    exit 2
  fi
  say "RESULT: tests passed, the benchmark failed"
  exit 3
fi
say "RESULT: all passed"
exit 0
