"""How the two-sample AUC of one process's generator depends on the optimiser's steps.

Trains a generator (``--architecture``, 8 × 64 by default) on ``--events`` simulated events of
``--process`` at the nominal detector with the given batch size, epochs and learning rate,
then prints the CPU seconds of training, the best epoch, the held-out loss and the classifier
two-sample AUC (± Hanley–McNeil error) against 20,000 freshly simulated events.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/generate_training_steps.py \\
        --process wjets --batch-size 256 --epochs 24 --learning-rate 1e-3
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--process", default="wjets")
    ap.add_argument("--events", type=int, default=24_000)
    ap.add_argument("--architecture", default="maf")
    ap.add_argument("--transforms", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--learning-rate", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    import torch

    from rediscovery.higgs.generate import FlowConfig, simulate_training_set, train_flow
    from rediscovery.higgs.generate.validation import two_sample_auc

    torch.set_num_threads(1)
    train = simulate_training_set(args.events, [{}], seed=args.seed, processes=[args.process])
    cfg = FlowConfig(
        architecture=args.architecture,
        transforms=args.transforms,
        hidden=args.hidden,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
    )
    t0 = time.process_time()
    flow = train_flow(train, cfg, progress=False)
    cpu = time.process_time() - t0
    ref = simulate_training_set(20_000, [{}], seed=args.seed + 100, processes=[args.process])
    res = two_sample_auc(ref, flow.sample(20_000, seed=args.seed + 2), seed=args.seed)
    info = flow.training_info_
    print(
        f"{args.process} {args.architecture} batch {args.batch_size} epochs {args.epochs} "
        f"lr {args.learning_rate:g}: {cpu:.0f} s CPU, best epoch {info['best_epoch']}, "
        f"held-out loss {info['valid_loss'][info['best_epoch']]:.3f}, "
        f"AUC {res['auc']:.3f} ± {res['auc_err']:.3f}"
    )


if __name__ == "__main__":
    main()
