#!/usr/bin/env bash
# The GPU checks, on a machine whose Python already has JAX with CUDA (no package index needed).
#
#   bash scripts/gpu_checks.sh OUT_DIR [WHEEL_DIR]
#
# Installs the seven brainstate wheels from WHEEL_DIR (build them with
# `for p in packages/*/; do uv build --wheel -o WHEEL_DIR $p; done`) into a private target directory
# (nothing else is installed: pytest, hypothesis and pytest-xdist must already be there), then runs every
# package's tests and the integration tests on the GPU, then the benchmarks that have a GPU story.
# JUnit reports, logs and benchmark tables go to OUT_DIR; the last line is `N passed, N failed, N skipped`.
# `nox -s "tests-gpu(package=...)"` does the same per package where jax[cuda12] can be downloaded.
set -u
out=${1:?usage: gpu_checks.sh OUT_DIR [WHEEL_DIR]}
wheels=${2:-.whl}
workers=${GPU_CHECK_WORKERS:-2}
integration_workers=${GPU_CHECK_INTEGRATION_WORKERS:-8}
budget=${GPU_CHECK_TEST_SECONDS:-300}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false JAX_PLATFORMS=${JAX_PLATFORMS:-cuda,cpu}

python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/brainstate-site "$wheels"/*.whl || exit 1
export PYTHONPATH=/tmp/brainstate-site
nvidia-smi -L 2>&1 | tee "$out/devices.txt"
python3 -c "import jax; d = jax.devices(); print('jax', jax.__version__, d); \
assert d[0].platform == 'gpu' or '${GPU_CHECK_ALLOW_CPU:-}', 'jax did not pick up the GPU'" \
    2>&1 | tee -a "$out/devices.txt" || exit 1

run_tests() {  # name, path, workers, extra pytest args...
    local name=$1 path=$2 n=$3
    shift 3
    timeout -k 5 "$budget" python3 -m pytest "$path" -v -p no:cacheprovider -p no:benchmark -n "$n" \
        --junitxml="$out/gpu-$name.xml" "$@" >"$out/tests-$name.log" 2>&1
    local rc=$?
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        rm -f "$out/gpu-$name.xml"  # a partial report would hide the tests that never ran
        echo "$name: timed out after ${budget}s" | tee -a "$out/timeouts.txt"
    fi
    echo "=== $name (exit $rc): $(tail -n 1 "$out/tests-$name.log")"
}
# The suites run side by side (each its own process group: the mapping tests set XLA flags of their own).
for p in state ir jit autodiff control mapping; do
    run_tests "$p" "packages/brainstate-$p/tests" "$workers" &
done
run_tests brainstate packages/brainstate/tests 1 &
run_tests integration integration_tests "$integration_workers" --ignore=integration_tests/test_distributed.py &
wait
pkill -9 -f "execnet|xdist" 2>/dev/null  # workers of a timed-out run must not disturb the timings below

if [ -z "${GPU_CHECK_SKIP_BENCH:-}" ]; then
    for b in "bench_data_path.py --calls 2000 --trials 200" "bench_jit.py --calls 2000" \
        "bench_control.py --sections speed,memory --repeats 3 --memory-steps 250,1000,4000" "bench_mapping.py"; do
        name=${b%%.py*}
        echo "=== $b" | tee -a "$out/bench.log"
        # shellcheck disable=SC2086 - the benchmark's arguments are split on purpose
        timeout "${GPU_CHECK_BENCH_SECONDS:-50}" python3 benchmarks/$b --out "$out/$name.md" >>"$out/bench.log" 2>&1 \
            || echo "$b failed or timed out (exit $?)" | tee -a "$out/bench.log"
    done
fi
timeouts=$(cat "$out/timeouts.txt" 2>/dev/null | wc -l)
python3 scripts/test_summary.py "$out"
rc=$?
[ "$timeouts" = 0 ] || { echo "$timeouts test suite(s) timed out: $(tr '\n' ' ' <"$out/timeouts.txt")"; exit 1; }
exit $rc
