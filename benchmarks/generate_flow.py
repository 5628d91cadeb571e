"""Train event generators and measure them against the simulator.

``run``: simulates ``--events`` training events at the ``--tes`` points, trains one generator
per ``--architecture`` (saved as ``OUT/ARCH``, a flow folder), then for each ``--test-tes``
(interpolation inside the training points, extrapolation outside) and each process records
the classifier two-sample AUC (± Hanley–McNeil error) of generated against freshly simulated
events and the worst 1-D KS p-value; also the generation speed (events/s wall and per CPU
second, one torch thread) with its ratio to the simulator's, and the training time.

Every step appends one JSON line to ``--results`` (``kind`` ``train``, ``speed`` or ``test``)
and is skipped when its line is already there: a stopped run resumes per architecture and per
process (a generator already saved in ``OUT/ARCH`` is loaded, not retrained).

``table``: prints the Markdown tables of a results file.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/generate_flow.py run --events 80000 \\
        --epochs 40 --architecture maf ddpm --tes 0.97 1.03 --test-tes 1.0 1.05 \\
        --test-events 20000 --speed-events 100000 --out work/flows --results work/gen.jsonl
    python benchmarks/generate_flow.py table --results work/gen.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

#: (transforms, hidden) of each architecture in this benchmark.
DEFAULT_SIZES = {"nsf": (4, 64), "maf": (8, 64), "fm": (4, 128), "ddpm": (4, 128), "cgan": (4, 128)}


def _done(results: Path) -> list[dict]:
    return [json.loads(x) for x in results.open()] if results.is_file() else []


def _append(results: Path, record: dict) -> None:
    with results.open("a") as fh:
        fh.write(json.dumps(record) + "\n")


def run(args: argparse.Namespace) -> None:
    import torch

    from rediscovery.higgs.events import simulate_events
    from rediscovery.higgs.generate import FlowConfig, simulate_training_set, train_flow
    from rediscovery.higgs.generate.flow import equal_weight_count_shares
    from rediscovery.higgs.generate.io import load_flow, save_flow
    from rediscovery.higgs.generate.validation import compare_processes

    torch.set_num_threads(1)
    results = Path(args.results)
    done = _done(results)

    def have(**key) -> bool:
        return any(all(r.get(k) == v for k, v in key.items()) for r in done)

    train = None
    sims = {}
    for tes in args.test_tes:
        t0, c0 = time.perf_counter(), time.process_time()
        sims[tes] = simulate_events(
            args.test_events,
            seed=args.seed + 100,
            nuisances={"tes": tes},
            processes=args.process,
            count_shares=equal_weight_count_shares(args.process),  # unweighted = weighted
            n_threads=1,
        )
        sims[tes].attrs["rate"] = len(sims[tes]) / (time.perf_counter() - t0)
        sims[tes].attrs["cpu_rate"] = len(sims[tes]) / (time.process_time() - c0)
    for arch in args.architecture:
        folder = Path(args.out) / arch
        sizes = DEFAULT_SIZES[arch]
        cfg = FlowConfig(
            architecture=arch,
            transforms=args.transforms or sizes[0],
            hidden=args.hidden or sizes[1],
            epochs=args.epochs,
            steps=args.steps,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            whiten=not args.no_whiten,
            seed=args.seed,
            met=args.met,
            reweight=not args.no_reweight,
        )
        if have(kind="train", architecture=arch) and (folder / "flow.json").is_file():
            flow = load_flow(folder)
            print(f"{arch}: trained generator loaded from {folder}")
        else:
            if train is None:
                train = simulate_training_set(
                    args.events, [{"tes": t} for t in args.tes], seed=args.seed,
                    processes=args.process,
                )  # fmt: skip
            c0 = time.process_time()
            flow = train_flow(train, cfg)
            train_cpu = time.process_time() - c0
            save_flow(flow, folder)
            info = flow.training_info_
            print(
                f"{arch} (transforms {cfg.transforms}, hidden {cfg.hidden}): trained on "
                f"{info['n_train']} events at tes {args.tes}: {info['seconds']:.0f} s wall, "
                f"{train_cpu:.0f} s CPU, best epoch {info['best_epoch']} of {cfg.epochs}"
            )
            rec = {"kind": "train", "architecture": arch, "config": vars(args)}
            rec |= {"cfg": cfg.__dict__, "train_seconds": info["seconds"]}
            rec |= {"train_cpu_seconds": train_cpu, "best_epoch": info["best_epoch"]}
            rec |= {"n_train": info["n_train"]}
            _append(results, rec)
        if not have(kind="speed", architecture=arch):
            flow.sample(1000, seed=args.seed)  # warm-up
            t0, c0 = time.perf_counter(), time.process_time()
            flow.sample(args.speed_events, seed=args.seed + 300, nuisances={"tes": 1.0})
            rate = args.speed_events / (time.perf_counter() - t0)
            cpu_rate = args.speed_events / (time.process_time() - c0)
            sim = sims[args.test_tes[0]].attrs
            print(
                f"  speed: {rate:.0f} events/s wall, {cpu_rate:.0f} per CPU second; simulator "
                f"{sim['rate']:.0f} wall, {sim['cpu_rate']:.0f} per CPU second (ratio "
                f"{rate / sim['rate']:.2f} wall, {cpu_rate / sim['cpu_rate']:.2f} CPU)"
            )
            rec = {"kind": "speed", "architecture": arch, "events_per_s": rate}
            rec |= {"events_per_cpu_s": cpu_rate, "simulator_events_per_s": sim["rate"]}
            rec |= {"simulator_events_per_cpu_s": sim["cpu_rate"]}
            _append(results, rec)
        for tes, sim in sims.items():
            shares = sim["Process"].astype(str).value_counts(normalize=True).to_dict()
            gen = None
            where = "inside" if min(args.tes) <= tes <= max(args.tes) else "outside"
            for proc in sorted(shares):
                if have(kind="test", architecture=arch, tes=tes, process=proc):
                    continue
                if gen is None:
                    gen = flow.sample(
                        args.test_events, seed=args.seed + 200, nuisances={"tes": tes},
                        shares=shares, extrapolate=True,
                    )  # fmt: skip
                one = sim[sim["Process"].astype(str) == proc]
                other = gen[gen["Process"].astype(str) == proc]
                rec = {"kind": "test", "architecture": arch, "tes": tes, "where": where}
                if min(len(one), len(other)) < 100:
                    print(f"  tes {tes} {proc}: {len(one)} events, too few for the test")
                    _append(results, rec | {"process": proc, "n": len(one), "auc": None})
                    continue
                weights = "Weight" if flow.reweighter_ is not None else None
                table = compare_processes(one, other, seed=args.seed, weight_column=weights)
                r = table.iloc[0].to_dict()
                print(
                    f"  tes {tes} ({where}) {proc:8s} n={r['n']:6d}  AUC {r['auc']:.3f} ± "
                    f"{r['auc_err']:.3f}  min KS p {r['min_ks_pvalue']:.2g} "
                    f"({r['worst_feature']})"
                )
                _append(results, rec | {k: (int(v) if k == "n" else v) for k, v in r.items()})


def table(args: argparse.Namespace) -> None:
    recs = _done(Path(args.results))
    archs = list(dict.fromkeys(r["architecture"] for r in recs))
    tests = [r for r in recs if r["kind"] == "test"]
    points = sorted({r["tes"] for r in tests})
    print("| architecture | process | " + " | ".join(f"AUC at tes {t:g}" for t in points) + " |")
    print("|---|---|" + "---|" * len(points))
    for arch in archs:
        for proc in sorted({r["process"] for r in tests if r["architecture"] == arch}):
            cells = []
            for t in points:
                hit = [r for r in tests if (r["architecture"], r["process"], r["tes"]) ==
                       (arch, proc, t)]  # fmt: skip
                ok = hit and hit[0]["auc"] is not None
                cells.append(f"{hit[0]['auc']:.3f} ± {hit[0]['auc_err']:.3f}" if ok else "–")
            print(f"| {arch} | {proc} | " + " | ".join(cells) + " |")
    print()
    print("| architecture | training wall s | training CPU s | best epoch | events/s wall | "
          "per CPU s | ratio to the simulator (CPU) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for arch in archs:
        tr = [r for r in recs if r["kind"] == "train" and r["architecture"] == arch]
        sp = [r for r in recs if r["kind"] == "speed" and r["architecture"] == arch]
        t = tr[-1] if tr else {}
        s = sp[-1] if sp else {}
        cells = [
            f"{t['train_seconds']:.0f}" if t else "–",
            f"{t['train_cpu_seconds']:.0f}" if t else "–",
            f"{t['best_epoch'] + 1} of {t['cfg']['epochs']}" if t else "–",
            f"{s['events_per_s']:,.0f}" if s else "–",
            f"{s['events_per_cpu_s']:,.0f}" if s else "–",
            f"{s['events_per_cpu_s'] / s['simulator_events_per_cpu_s']:.2f}" if s else "–",
        ]
        print(f"| {arch} | " + " | ".join(cells) + " |")
    sims = [r for r in recs if r["kind"] == "speed"]
    if sims:
        print(f"\nsimulator: {sims[-1]['simulator_events_per_cpu_s']:,.0f} events per CPU second")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="train and measure (resumable)")
    r.add_argument("--events", type=int, default=60_000)
    r.add_argument("--epochs", type=int, default=40)
    r.add_argument("--architecture", nargs="+", default=["maf"])
    r.add_argument("--transforms", type=int, default=None, help="default: per architecture")
    r.add_argument("--hidden", type=int, default=None, help="default: per architecture")
    r.add_argument("--tes", type=float, nargs="+", default=[0.97, 1.03])
    r.add_argument("--test-tes", type=float, nargs="+", default=[1.0, 1.05])
    r.add_argument("--test-events", type=int, default=20_000)
    r.add_argument("--speed-events", type=int, default=100_000)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--process", nargs="+", default=None, help="these processes only")
    r.add_argument("--steps", type=int, default=8, help="sampler steps of fm and ddpm")
    r.add_argument("--batch-size", type=int, default=256)
    r.add_argument("--learning-rate", type=float, default=1e-3)
    r.add_argument("--no-whiten", action="store_true", help="networks learn y unwhitened")
    r.add_argument("--met", default="balance", help="E_T^miss representation: balance | arc")
    r.add_argument("--no-reweight", action="store_true", help="generators without reweighting")
    r.add_argument("--out", required=True, help="generators saved as OUT/ARCH")
    r.add_argument("--results", required=True, help="JSON lines, appended per step")
    t = sub.add_parser("table", help="print the tables of a results file")
    t.add_argument("--results", required=True)
    args = ap.parse_args()
    {"run": run, "table": table}[args.command](args)


if __name__ == "__main__":
    main()
