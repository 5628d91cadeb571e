"""Cost of the model database's checks against calling the models directly.

Prints, for the shipped flat CMB emulator: the time of ``rediscovery.models.load`` (card built
from the file's metadata, SHA-256 of the file, emulator read) against
``rediscovery.cosmo.cmb.load_emulator``, and the time per evaluation through the registry's
callable (validity-box check included) against the emulator's own call, one parameter point at
a time and in a batch. With ``--events N`` also a Higgs classifier: a 50-tree XGBoost trained
on N simulated events, registered from a folder, scored through the registry (the per-feature
box check on N events) against ``Classifier.predict``.

    python benchmarks/models_overhead.py --repeat 200 --events 100000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--events", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    from rediscovery.cosmo.cmb import load_emulator
    from rediscovery.models import load

    t_load = _best(lambda: load("cmb-emulator-tt"), 20)
    t_direct_load = _best(load_emulator, 20)
    print(
        f"load by name {1e3 * t_load:.2f} ms, load_emulator {1e3 * t_direct_load:.2f} ms "
        f"(ratio {t_load / t_direct_load:.2f})"
    )
    reg, emu = load("cmb-emulator-tt"), load_emulator()
    point = {"H0": 68.0, "ombh2": 0.0223, "omch2": 0.119, "ns": 0.965, "ln10As": 3.04, "tau": 0.055}
    t_reg = _best(lambda: reg(point), args.repeat)
    t_dir = _best(lambda: emu(point), args.repeat)
    print(
        f"one point: registry {1e3 * t_reg:.3f} ms, emulator {1e3 * t_dir:.3f} ms "
        f"(ratio {t_reg / t_dir:.2f})"
    )
    rng = np.random.default_rng(args.seed)
    x = np.column_stack([rng.uniform(lo, hi, args.batch) for lo, hi in emu.box.values()])
    cols = dict(zip(emu.names, x.T, strict=True))
    t_reg = _best(lambda: reg(cols), 5)
    t_dir = _best(lambda: emu.predict(x), 5)
    print(
        f"batch of {args.batch}: registry {t_reg:.3f} s, emulator.predict {t_dir:.3f} s "
        f"(ratio {t_reg / t_dir:.3f}; {args.batch / t_reg:.0f} spectra/s)"
    )

    if args.events:
        from rediscovery.higgs.classifiers import train_classifier
        from rediscovery.higgs.events import simulate_events
        from rediscovery.models import register_classifier

        df = simulate_events(args.events, seed=args.seed)
        res = train_classifier(
            df,
            "xgboost",
            features="pri",
            params={"n_estimators": 50},
            seed=args.seed,
            n_bootstrap=2,
        )
        with tempfile.TemporaryDirectory() as tmp:
            res.model.save(Path(tmp) / "model")
            df.to_parquet(Path(tmp) / "events.parquet")
            register_classifier(
                Path(tmp) / "model",
                name="bench",
                registry=Path(tmp) / "reg",
                data=Path(tmp) / "events.parquet",
            )
            clf = load("bench", registry=Path(tmp) / "reg")
            t_reg = _best(lambda: clf(df), 5)
            t_dir = _best(lambda: res.model.predict(df), 5)
        print(
            f"classifier on {len(df)} events: registry {t_reg:.3f} s, predict {t_dir:.3f} s "
            f"(ratio {t_reg / t_dir:.3f}; {len(df) / t_reg:.3g} events/s)"
        )


if __name__ == "__main__":
    main()
