#!/usr/bin/env bash
# Runs a binary built by cuda-build.sh on a GPU machine (driver >= 580, CUDA 13).
#
# The binary links by soname against the driver (libcuda.so.1) and the CUDA 13
# runtime libraries (libcudart.so.13, libcublas.so.13 -> libcublasLt.so.13,
# libcurand.so.10). For each library ldd cannot resolve, this finds a
# directory among $CONSENTRY_CUDA_LIBS (colon-separated), the CUDA toolkit
# and the pip wheels of any Python on the machine (nvidia/cu13/lib), puts it
# on LD_LIBRARY_PATH, checks with ldd that nothing is missing, and runs it.
#
#   inference/scripts/cuda-run.sh ./consentry_inference train --device cuda --config ...
#   CONSENTRY_DEVICE=cuda inference/scripts/cuda-run.sh ./latency --bench
set -euo pipefail

[[ $# -ge 1 ]] || { echo "usage: $0 BINARY [ARGS...]" >&2; exit 2; }
bin="$1"
[[ -x "$bin" ]] || { echo "cuda-run: $bin is not an executable" >&2; exit 2; }

dirs=()
IFS=: read -r -a extra <<<"${CONSENTRY_CUDA_LIBS:-}"
dirs+=("${extra[@]}")
dirs+=(/usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu)
dirs+=(/usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-13*/lib64 /usr/local/cuda-13*/targets/x86_64-linux/lib)
for py in python3 /opt/*/.venv/bin/python3; do
    command -v "$py" >/dev/null 2>&1 || continue
    while IFS= read -r d; do dirs+=("$d/nvidia/cu13/lib"); done < <(
        "$py" -c 'import site, sys; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null || true
    )
done

path="${LD_LIBRARY_PATH:-}"
missing() { LD_LIBRARY_PATH="$path" ldd "$bin" | awk '/not found/ { print $1 }' | sort -u; }
for _ in 1 2 3; do # a library found can reveal its own dependencies
    for lib in $(missing); do
        found=""
        for d in "${dirs[@]}"; do
            if [[ -n "$d" && -e "$d/$lib" ]]; then found="$d"; break; fi
        done
        if [[ -z "$found" ]]; then
            echo "cuda-run: $lib not found (looked in: ${dirs[*]}); set CONSENTRY_CUDA_LIBS" >&2
            exit 1
        fi
        case ":$path:" in *":$found:"*) ;; *) path="$found${path:+:$path}" ;; esac
    done
done
if [[ -n "$(missing)" ]]; then
    echo "cuda-run: $bin still has unresolved libraries with LD_LIBRARY_PATH=$path:" >&2
    LD_LIBRARY_PATH="$path" ldd "$bin" | grep 'not found' >&2
    exit 1
fi
export LD_LIBRARY_PATH="$path"
exec "$@"
