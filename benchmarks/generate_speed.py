"""Generation speed of saved generators against the simulator, one thread each.

Prints, for ``--events`` events at the nominal setting, the events per second of wall time
and per second of CPU time (``time.process_time``: the figure that does not depend on how busy
the machine is) of each generator folder and of ``simulate_events(n_threads=1)``, and the
ratio generator / simulator, each the best of ``--repeat`` runs (on a shared machine the
slowest runs measure the other jobs).

    OMP_NUM_THREADS=1 python benchmarks/generate_speed.py work/flows/maf work/flows/fm \\
        --events 200000 --repeat 3
"""

from __future__ import annotations

import argparse
import time


def _timed(fn, repeat=1):  # (result, wall seconds, CPU seconds), the least of ``repeat`` runs
    best = (None, float("inf"), float("inf"))
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        best = (out, min(best[1], time.perf_counter() - w), min(best[2], time.process_time() - c))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("generators", nargs="+", help="generator folders (flow.json)")
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1, help="best of this many runs")
    args = ap.parse_args()

    import torch

    from rediscovery.higgs.events.simulate import simulate_events
    from rediscovery.higgs.generate.io import load_flow

    torch.set_num_threads(1)
    n = args.events
    _, w, c = _timed(lambda: simulate_events(n, seed=args.seed, n_threads=1), args.repeat)
    sim_wall, sim_cpu = n / w, n / c
    print(f"simulator: {sim_wall:9.0f} events/s wall, {sim_cpu:9.0f} events/s CPU")
    for folder in args.generators:
        flow = load_flow(folder)
        flow.sample(1000, seed=args.seed)  # warm-up
        _, w, c = _timed(lambda flow=flow: flow.sample(n, seed=args.seed), args.repeat)
        print(
            f"{flow.config.architecture:9s}: {n / w:9.0f} events/s wall, {n / c:9.0f} events/s "
            f"CPU (ratio to the simulator: {n / w / sim_wall:.2f} wall, "
            f"{n / c / sim_cpu:.2f} CPU)"
        )


if __name__ == "__main__":
    main()
