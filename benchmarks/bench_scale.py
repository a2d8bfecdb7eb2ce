"""Scale-out: the calibration study's seed loop on 1 vs 2 processes vs a 2-worker Dask cluster,
and evidence throughput and peak memory of a grid 10x larger than a memory cap.

Part 1 runs the inner loop of ``experiments/nfbst_calibration.py`` (``run_jobs``: one
job = one data set, a VI fit and its CRTs; ``--jobs`` of the quick settings) three ways:
``n_jobs=1`` in this process, ``n_jobs=2`` on joblib's ``loky`` processes, and
``joblib.parallel_config(backend="dask")`` on a ``LocalCluster`` of 2 worker processes. Each
is timed cold (the first call starts and imports the workers) and warm (best of
``--repeats``), every worker with one torch/BLAS thread, and the results are checked equal.

Part 2 computes ``evidence_value`` of a ``dask.array`` grid of S draws x n rows x d features
(float32) whose size is ``--factor`` (10) times ``--mem-cap-mb``, chunked over rows in blocks
of at most a tenth of the cap, generated block by block (never materialised): cells per
second and the peak of traced (numpy) memory, on the synchronous scheduler (one thread) and
on the 2-worker cluster.

Run: ``.venv/bin/python benchmarks/bench_scale.py [--mem-cap-mb 100]``
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
import warnings

import joblib
import numpy as np
from _timing import best_time, pin_threads

sys.path.insert(0, __file__.rsplit("/", 2)[0])  # experiments/ runs from the repository


def calibration_jobs(n_jobs_total: int):
    """The quick calibration study's jobs: (kind, rho, n, seed, backends, full, library)."""
    from experiments.nfbst_calibration import KINDS

    jobs = []
    seed = 0
    while len(jobs) < n_jobs_total:
        for kind in KINDS:
            for rho in (0.0, 0.6):
                if len(jobs) < n_jobs_total:
                    jobs.append((kind, rho, 60, seed, ["vi"], True, False))
        seed += 1
    return jobs


def part1(args):
    from dask.distributed import Client, LocalCluster

    from experiments.nfbst_calibration import run_jobs

    jobs = calibration_jobs(args.jobs)
    K, S = 19, 20

    def run(n_jobs):
        return run_jobs(jobs, K, True, S, n_jobs=n_jobs)

    print(f"\npart 1: calibration inner loop, {len(jobs)} jobs (quick settings: n=60, VI "
          f"150 steps, K={K}, S={S}), best of {args.repeats} warm runs", flush=True)
    results = {}
    t, ref = best_time(lambda: run(1), args.repeats)
    results["n_jobs=1 (this process)"] = (t, t)
    with joblib.parallel_config(backend="loky"):
        cold, out = best_time(lambda: run(2), 1)
        assert _same(out, ref), "loky results differ from the sequential run"
        warm, _ = best_time(lambda: run(2), args.repeats)
    results["n_jobs=2 (loky processes)"] = (cold, warm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    t0 = time.perf_counter()
    with Client(cluster), joblib.parallel_config(backend="dask", n_jobs=2):
        start = time.perf_counter() - t0
        cold, out = best_time(lambda: run(2), 1)
        assert _same(out, ref), "Dask results differ from the sequential run"
        warm, _ = best_time(lambda: run(2), args.repeats)
    cluster.close()
    results["LocalCluster, 2 workers (dask)"] = (cold + start, warm)
    base = results["n_jobs=1 (this process)"][1]
    print(f"{'execution':34s} {'cold s':>8s} {'warm s':>8s} {'speed-up (warm)':>16s}")
    for name, (c, w) in results.items():
        print(f"{name:34s} {c:8.2f} {w:8.2f} {base / w:15.2f}x")
    print("results identical to the sequential run: yes (checked)")


def _same(a, b):
    """Equal result rows, the measured ``seconds`` aside."""
    strip = lambda part: [{k: v for k, v in row.items() if k != "seconds"}  # noqa: E731
                          for row in part]
    return len(a) == len(b) and all(strip(pa) == strip(pb) for pa, pb in zip(a, b))


def part2(args):
    import dask
    import dask.array as da
    from dask.distributed import Client, LocalCluster

    from nfbst.evidence import evidence_value

    S, d = 300, 100
    cap = args.mem_cap_mb * 2**20
    n = int(args.factor * cap / (S * d * 4))
    rows = max(1, int(cap / 10 / (S * d * 4)))
    grid = S * n * d * 4
    eta = da.random.default_rng(0).standard_normal((S, n, d), chunks=(S, rows, d),
                                                  dtype=np.float32)
    print(f"\npart 2: evidence of a dask grid S={S} x n={n:,} x d={d} float32 = "
          f"{grid / 2**20:,.0f} MiB ({grid / cap:.1f}x the {args.mem_cap_mb} MiB cap), "
          f"blocks of {rows} rows ({S * rows * d * 4 / 2**20:.1f} MiB)", flush=True)
    cells = n * d
    tracemalloc.start()
    t0 = time.perf_counter()
    with dask.config.set(scheduler="synchronous"):
        ev = evidence_value(eta, axis=0).compute()
    t_sync = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert ev.shape == (n, d)
    print(f"synchronous (1 thread): {t_sync:6.1f} s, {cells / t_sync:,.0f} cells/s, traced peak "
          f"{peak / 2**20:.1f} MiB = {peak / grid:.3f} of the grid, {peak / cap:.2f} of the cap")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    with Client(cluster) as client:
        evidence_value(eta[:, :rows], axis=0).compute()  # warm the workers (imports)
        t0 = time.perf_counter()
        ev2 = evidence_value(eta, axis=0).compute()
        t_cl = time.perf_counter() - t0
        mem = client.run(_peak_rss_mib)
    cluster.close()
    assert np.array_equal(ev, ev2)
    print(f"LocalCluster, 2 workers: {t_cl:6.1f} s, {cells / t_cl:,.0f} cells/s "
          f"({t_sync / t_cl:.2f}x the synchronous run); peak RSS per worker "
          f"{', '.join(f'{v:.0f}' for v in mem.values())} MiB (torch and dask included)")
    print("cluster result identical to the synchronous run: yes (checked)")


def _peak_rss_mib():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=8, help="calibration jobs in part 1")
    p.add_argument("--repeats", type=int, default=2, help="warm repeats per execution")
    p.add_argument("--mem-cap-mb", type=int, default=100, help="memory cap of part 2 (MiB)")
    p.add_argument("--factor", type=float, default=10.0, help="grid size / memory cap")
    p.add_argument("--part", choices=["1", "2", "both"], default="both")
    args = p.parse_args(argv)
    pin_threads(1)  # every worker and this process: one thread each
    with open("/proc/loadavg") as fh:
        print(f"load average before (1/5/15 min): {' '.join(fh.read().split()[:3])}")
    if args.part in ("1", "both"):
        part1(args)
    if args.part in ("2", "both"):
        part2(args)


if __name__ == "__main__":
    main()
