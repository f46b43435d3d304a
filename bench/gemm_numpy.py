#!/usr/bin/env python3
"""Times numpy's float32 C = A @ B (row-major, random inputs) and prints `gflops=<median>` as the last line.

Usage: OPENBLAS_NUM_THREADS=2 python3 bench/gemm_numpy.py M N K [repeats]
The same measurement as Sifa.Cli.Bench.GemmBench, so the two numbers compare directly.
"""
import sys
import time

import numpy as np


def main() -> int:
    if len(sys.argv) < 4:
        print("usage: gemm_numpy.py M N K [repeats]", file=sys.stderr)
        return 2
    m, n, k = (int(v) for v in sys.argv[1:4])
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 7
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    c = np.empty((m, n), dtype=np.float32)
    flops = 2.0 * m * n * k
    # Warm-up: lets OpenBLAS start its threads and the caches settle.
    warm_end = time.perf_counter() + 0.3
    while True:
        np.matmul(a, b, out=c)
        if time.perf_counter() > warm_end:
            break
    # Each sample runs long enough (~0.1 s) for the timer to be accurate on small shapes.
    t0 = time.perf_counter()
    np.matmul(a, b, out=c)
    once = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, int(0.1 / once))
    samples = []
    cpu0 = time.process_time()
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            np.matmul(a, b, out=c)
        samples.append((time.perf_counter() - t0) / inner)
    cpu = time.process_time() - cpu0
    samples.sort()
    med = samples[len(samples) // 2]
    print(f"numpy {np.__version__} m={m} n={n} k={k} median={med * 1e3:.3f} ms "
          f"min={samples[0] * 1e3:.3f} ms over {repeats} runs")
    # Flops per CPU-second per thread: close to the kernel's speed even on a loaded machine (see GemmBench).
    print(f"cpu_gflops_per_thread={flops * repeats * inner / max(cpu, 1e-9) / 1e9:.2f}")
    print(f"gflops={flops / med / 1e9:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
