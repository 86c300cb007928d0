#!/usr/bin/env bash
# Packs the CUDA conformance tests and //bench:gpu_bench, with every shared
# library they load except glibc and the NVIDIA driver, into gpu_bundle/ at the
# repository root: a folder that runs (gpu_bundle/run.sh) on any x86-64 Linux
# machine with an NVIDIA driver and nothing else installed. docs/gpu.md.
#
#   tools/gpu_bundle/pack.sh [options] [-- extra bazel build flags]
#
#   --no-cudnn     leave cuDNN out (it is ~390 MB); run.sh then uses a cuDNN
#                  found on the target machine, or tapconv's direct conv
#   --with-glibc   also pack glibc and its loader, for targets whose glibc is
#                  older than this machine's (run.sh uses them only then)
#   --compress     store bin/ and lib/ as payload.tar.gz (run.sh unpacks it);
#                  default: only when the bundle would exceed 64 MiB
#   --no-compress  never compress
#   --out DIR      bundle folder (default: <repo>/gpu_bundle)
#   --no-build     package what bazel-bin holds (after a build with the same
#                  flags)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out="$repo/gpu_bundle"
with_cudnn=1
with_glibc=0
compress=auto
build=1
bazel_flags=(-c opt)
while (($#)); do
  case "$1" in
    --no-cudnn) with_cudnn=0 ;;
    --with-glibc) with_glibc=1 ;;
    --compress) compress=yes ;;
    --no-compress) compress=no ;;
    --no-build) build=0 ;;
    --out)
      out=$2
      shift
      ;;
    --out=*) out=${1#--out=} ;;
    --)
      shift
      bazel_flags+=("$@")
      break
      ;;
    -h | --help)
      sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "pack.sh: unknown argument '$1' (see --help)" >&2
      exit 64
      ;;
  esac
  shift
done

# Carried by the device tool and small enough for most transfers.
readonly limit_bytes=$((64 * 1024 * 1024))
readonly cudnn_dir=/usr/local/cuda/lib64
# The CUDA binaries: bundle name -> Bazel label.
readonly -a names=(conformance_cuda_test gpu_cases_cuda_test gpu_bench)
readonly -a labels=(
  //tests/conformance:conformance_cuda_test
  //tests/gpu_emulation:gpu_cases_cuda_test
  //bench:gpu_bench
)
readonly -a paths=(
  tests/conformance/conformance_cuda_test
  tests/gpu_emulation/gpu_cases_cuda_test
  bench/gpu_bench
)
# libcudnn.so.9 is a small front that dlopens these at run time; the legacy
# convolution API needs all but libcudnn_adv (RNNs, attention).
readonly -a cudnn_libs=(
  libcudnn.so.9
  libcudnn_graph.so.9
  libcudnn_ops.so.9
  libcudnn_cnn.so.9
  libcudnn_heuristic.so.9
  libcudnn_engines_precompiled.so.9
  libcudnn_engines_runtime_compiled.so.9
)

cd "$repo"
if ((build)); then
  echo "== building ${labels[*]} (${bazel_flags[*]})"
  ./bazelw build "${bazel_flags[@]}" "${labels[@]}"
fi
bin_dir=$(./bazelw info "${bazel_flags[@]}" bazel-bin 2>/dev/null)

# Only ever delete an earlier bundle.
out=$(realpath -m "$out")
if [[ $out == / || $out == "$repo" || $out == "$HOME" ]]; then
  echo "pack.sh: refusing to use $out as the bundle folder" >&2
  exit 64
fi
if [[ -e $out && ! -f $out/MANIFEST.txt && -n $(ls -A "$out" 2>/dev/null) ]]; then
  echo "pack.sh: $out exists and is not a bundle; remove it or pick --out" >&2
  exit 64
fi
rm -rf "${out:?}"
mkdir -p "$out/bin" "$out/lib"
echo "tapconv GPU bundle (incomplete: pack.sh did not finish)" >"$out/MANIFEST.txt"

# glibc (the target's own is used unless --with-glibc) and the driver (must be
# the target's: it matches its kernel module).
is_system_lib() {
  case "$1" in
    linux-vdso.so.* | ld-linux*.so.* | libc.so.* | libm.so.* | libmvec.so.* | \
      libdl.so.* | libpthread.so.* | librt.so.* | libresolv.so.* | \
      libutil.so.* | libanl.so.* | libnss_*.so.* | libthread_db.so.*)
      return 0
      ;;
    libcuda.so* | libnvidia-*.so* | libnvcuvid.so* | libcudadebugger.so*)
      return 0
      ;;
  esac
  return 1
}

# Copies every non-system library `file` loads (ldd resolves the whole tree)
# into lib/, under the name the loader looks for.
copy_dependencies() {
  local file=$1 line name path
  while IFS= read -r line; do
    if [[ $line == *"=> not found"* ]]; then
      echo "pack.sh: $file needs a library that is not installed: $line" >&2
      exit 1
    fi
    [[ $line == *" => "* ]] || continue
    name=$(awk '{print $1}' <<<"$line")
    path=$(awk '{print $3}' <<<"$line")
    is_system_lib "$name" && continue
    [[ -e "$out/lib/$name" ]] || cp -L "$path" "$out/lib/$name"
  done < <(ldd "$file")
}

for i in "${!names[@]}"; do
  src="$bin_dir/${paths[$i]}"
  [[ -x $src ]] || {
    echo "pack.sh: $src is missing (build ${labels[$i]} first)" >&2
    exit 1
  }
  cp -L "$src" "$out/bin/${names[$i]}"
  chmod u+w "$out/bin/${names[$i]}"
  copy_dependencies "$src"
done

cudnn_version=none
if ((with_cudnn)); then
  for lib in "${cudnn_libs[@]}"; do
    [[ -e $cudnn_dir/$lib ]] || {
      echo "pack.sh: $cudnn_dir/$lib is missing (or pass --no-cudnn)" >&2
      exit 1
    }
    cp -L "$cudnn_dir/$lib" "$out/lib/$lib"
    copy_dependencies "$cudnn_dir/$lib"
  done
  cudnn_version=$(sed -n 's/^#define CUDNN_\(MAJOR\|MINOR\|PATCHLEVEL\) \([0-9]*\).*/\2/p' \
    /usr/local/cuda/include/cudnn_version.h 2>/dev/null | paste -sd.)
fi

# Newest glibc symbol version any packed file needs: run.sh compares it with
# the target's.
glibc_required=$(for f in "$out"/bin/* "$out"/lib/*; do
  objdump -T "$f" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' || true
done | sed 's/GLIBC_//' | sort -uV | tail -1)
echo "$glibc_required" >"$out/GLIBC_REQUIRED"

if ((with_glibc)); then
  mkdir -p "$out/lib/glibc"
  while IFS= read -r line; do
    [[ $line == *" => "* || $line == *ld-linux* ]] || continue
    name=$(awk '{print $1}' <<<"$line")
    case "$name" in
      /*) path=$name name=$(basename "$name") ;;
      *) path=$(awk '{print $3}' <<<"$line") ;;
    esac
    case "$name" in
      ld-linux*.so.* | libc.so.* | libm.so.* | libmvec.so.* | libdl.so.* | \
        libpthread.so.* | librt.so.* | libresolv.so.*)
        cp -L "$path" "$out/lib/glibc/$name"
        ;;
    esac
  done < <(ldd "$out/bin/${names[0]}" "$out/bin/gpu_bench" 2>/dev/null)
fi

# Self-check: with only the bundle's lib/ on the loader path, every library
# a packed file needs must resolve to lib/ or be a system one.
for f in "$out"/bin/* "$out"/lib/*.so*; do
  [[ -f $f ]] || continue
  while IFS= read -r line; do
    [[ $line == *" => "* ]] || continue
    name=$(awk '{print $1}' <<<"$line")
    path=$(awk '{print $3}' <<<"$line")
    is_system_lib "$name" && continue
    if [[ $path != "$out/lib/"* ]]; then
      echo "pack.sh: $(basename "$f") loads $name from $path, not from the bundle" >&2
      exit 1
    fi
  done < <(LD_LIBRARY_PATH="$out/lib" ldd "$f" 2>/dev/null)
done

cp "$repo/tools/gpu_bundle/run.sh" "$out/run.sh"
chmod +x "$out/run.sh"

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null | head -1)
{
  echo "tapconv GPU bundle"
  echo "commit: $commit${dirty:+ (with uncommitted changes)}"
  echo "packed: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m)"
  echo "bazel flags: ${bazel_flags[*]}"
  echo "CUDA toolkit: $(/usr/local/cuda/bin/nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p')" \
    "(static runtime; the target's driver must support it)"
  echo "cuDNN: $cudnn_version"
  echo "glibc required: $glibc_required (packed: $([[ -d $out/lib/glibc ]] && echo yes || echo no))"
  echo
  echo "files (bytes):"
  (cd "$out" && find bin lib -type f -printf '%s\t%p\n' | sort -k2)
} >"$out/MANIFEST.txt"

total=$(du -sb "$out" | cut -f1)
if [[ $compress == yes || ($compress == auto && $total -gt $limit_bytes) ]]; then
  echo "== compressing bin/ and lib/ ($((total / 1048576)) MiB) into payload.tar.gz"
  tar -C "$out" -czf "$out/payload.tar.gz" bin lib
  rm -rf "${out:?}/bin" "${out:?}/lib"
  total=$(du -sb "$out" | cut -f1)
fi

echo "== $out: $((total / 1048576)) MiB ($total bytes)"
(cd "$out" && du -sh --apparent-size ./* | sort -h | tail -5)
if ((total > limit_bytes)); then
  if ((with_cudnn)); then
    echo "note: over 64 MiB, too big for the device tool; --no-cudnn fits"
  else
    echo "note: over 64 MiB, too big for the device tool; leave out --no-compress"
  fi
fi
