"""Train event generators and measure them against the simulator.

Simulates ``--events`` training events at the ``--tes`` points, trains one generator per
``--architecture``, then for each ``--test-tes`` (interpolation inside the training points,
extrapolation outside) prints per process the classifier two-sample AUC (± Hanley–McNeil
error) of generated against freshly simulated events and the worst 1-D KS p-value, the
generation speed (events/s, one torch thread) and its ratio to the simulator's, and the
training time. One JSON line per architecture is appended to ``--results``; an architecture
already there is skipped (a stopped run resumes). With ``--out DIR`` the generators are saved
as ``DIR/ARCH`` (flow folders).

    OMP_NUM_THREADS=1 python benchmarks/generate_flow.py --events 60000 --epochs 20 \\
        --architecture maf fm ddpm --tes 0.97 1.03 --test-tes 1.0 1.05 --test-events 20000
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=60_000)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--architecture", nargs="+", default=["nsf"])
    ap.add_argument("--transforms", type=int, default=None, help="default: per architecture")
    ap.add_argument("--hidden", type=int, default=None, help="default: per architecture")
    ap.add_argument("--tes", type=float, nargs="+", default=[0.97, 1.0, 1.03])
    ap.add_argument("--test-tes", type=float, nargs="+", default=[1.0])
    ap.add_argument("--test-events", type=int, default=20_000)
    ap.add_argument("--speed-events", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--process", nargs="+", default=None, help="these processes only")
    ap.add_argument("--steps", type=int, default=8, help="sampler steps of fm and ddpm")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--learning-rate", type=float, default=1e-3)
    ap.add_argument("--no-whiten", action="store_true", help="networks learn y unwhitened")
    ap.add_argument("--out", default=None, help="save the generators as OUT/ARCH")
    ap.add_argument("--results", default=None, help="append one JSON line per architecture")
    args = ap.parse_args()

    import torch

    from rediscovery.higgs.events import simulate_events
    from rediscovery.higgs.generate import FlowConfig, simulate_training_set, train_flow
    from rediscovery.higgs.generate.flow import equal_weight_count_shares
    from rediscovery.higgs.generate.io import save_flow
    from rediscovery.higgs.generate.validation import compare_processes

    torch.set_num_threads(1)
    done = set()
    if args.results and Path(args.results).is_file():
        done = {json.loads(line)["architecture"] for line in Path(args.results).open()}
    train = simulate_training_set(
        args.events, [{"tes": t} for t in args.tes], seed=args.seed, processes=args.process
    )
    sims = {}
    for tes in args.test_tes:
        t0 = time.perf_counter()
        sims[tes] = simulate_events(
            args.test_events,
            seed=args.seed + 100,
            nuisances={"tes": tes},
            processes=args.process,
            count_shares=equal_weight_count_shares(args.process),  # unweighted = weighted
        )
        sims[tes].attrs["rate"] = len(sims[tes]) / (time.perf_counter() - t0)
    for arch in args.architecture:
        if arch in done:
            print(f"{arch}: already in {args.results}, skipped")
            continue
        defaults = {"nsf": (4, 64), "maf": (8, 64), "fm": (4, 128), "ddpm": (4, 128)}[arch]
        cfg = FlowConfig(
            architecture=arch,
            transforms=args.transforms or defaults[0],
            hidden=args.hidden or defaults[1],
            epochs=args.epochs,
            steps=args.steps,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            whiten=not args.no_whiten,
            seed=args.seed,
        )
        c0 = time.process_time()
        flow = train_flow(train, cfg)
        train_cpu = time.process_time() - c0
        info = flow.training_info_
        print(
            f"{arch} (transforms {cfg.transforms}, hidden {cfg.hidden}): trained on "
            f"{info['n_train']} events at tes {args.tes}: {info['seconds']:.0f} s wall, "
            f"{train_cpu:.0f} s CPU, best epoch "
            f"{info['best_epoch']} of {cfg.epochs}"
        )
        if args.out:
            save_flow(flow, Path(args.out) / arch)
        record = {
            "architecture": arch,
            "config": vars(args) | {"cfg": cfg.__dict__},
            "train_seconds": info["seconds"],
            "train_cpu_seconds": train_cpu,
            "tests": {},
        }
        t0 = time.perf_counter()
        c0 = time.process_time()
        flow.sample(args.speed_events, seed=args.seed + 300, nuisances={"tes": 1.0})
        rate = args.speed_events / (time.perf_counter() - t0)
        cpu_rate = args.speed_events / (time.process_time() - c0)
        sim_rate = sims[args.test_tes[0]].attrs["rate"]
        print(
            f"  speed: {rate:.0f} events/s wall, {cpu_rate:.0f} per CPU second; simulator "
            f"{sim_rate:.0f} events/s wall (ratio {rate / sim_rate:.2f})"
        )
        record |= {
            "events_per_s": rate,
            "events_per_cpu_s": cpu_rate,
            "simulator_events_per_s": sim_rate,
        }
        for tes, sim in sims.items():
            gen = flow.sample(
                args.test_events,
                seed=args.seed + 200,
                nuisances={"tes": tes},
                shares=sim["Process"].astype(str).value_counts(normalize=True).to_dict(),
                extrapolate=True,
            )
            table = compare_processes(sim, gen, seed=args.seed)
            where = "inside" if min(args.tes) <= tes <= max(args.tes) else "outside"
            print(f"  tes {tes} ({where} the training points):")
            for r in table.itertuples():
                print(
                    f"    {r.process:8s} n={r.n:6d}  AUC {r.auc:.3f} ± {r.auc_err:.3f}  "
                    f"min KS p {r.min_ks_pvalue:.2g} ({r.worst_feature})"
                )
            record["tests"][str(tes)] = table.to_dict(orient="records")
        if args.results:
            with Path(args.results).open("a") as fh:
                fh.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
