"""The physics test of an event generator: μ̂ of `higgs run` with generated templates against
μ̂ with simulated templates.

For each seed, two statistics-only runs share everything (pseudo-data, classifier, binning
procedure) except the template sample: the simulator's, or ``--generator``'s
(``templates: GENERATOR``). Prints μ̂ of both, the statistical σ of the simulator run and the
shift in units of it; appends one JSON line per seed to ``--results`` (a seed already there is
skipped, so a stopped run resumes).

    OMP_NUM_THREADS=1 python benchmarks/generate_templates.py --generator work/flow \\
        --seeds 1 2 3 --out work/template_runs --results work/templates.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generator", required=True, help="generator folder (flow.json)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--template-events", type=int, default=1_000_000)
    ap.add_argument("--lumi-factor", type=float, default=1.0)
    ap.add_argument("--out", required=True, help="folder of the run directories")
    ap.add_argument("--results", required=True, help="JSON lines, one per seed")
    args = ap.parse_args()

    from rediscovery.higgs.pipeline import HiggsRunConfig, run_pipeline

    results = Path(args.results)
    done = {json.loads(x)["seed"] for x in results.open()} if results.is_file() else set()
    for seed in args.seeds:
        if seed in done:
            print(f"seed {seed}: already in {results}, skipped")
            continue
        common = {
            "seed": seed,
            "events": args.events,
            "template_events": args.template_events,
            "lumi_factor": args.lumi_factor,
            "systematics": False,
        }
        sim = run_pipeline(Path(args.out) / f"sim_{seed}", HiggsRunConfig(**common))
        gen = run_pipeline(
            Path(args.out) / f"gen_{seed}",
            HiggsRunConfig(**common, templates=str(Path(args.generator))),
        )
        lo, hi = sim["mu_stat_68"]
        sigma = (hi - lo) / 2
        shift = (gen["mu_hat"] - sim["mu_hat"]) / sigma
        print(
            f"seed {seed}: mu_hat simulator templates {sim['mu_hat']:.3f}, generated "
            f"templates {gen['mu_hat']:.3f}; sigma_stat {sigma:.3f}; shift {shift:+.2f} sigma"
        )
        with results.open("a") as fh:
            fh.write(
                json.dumps(
                    {
                        "seed": seed,
                        "mu_sim": sim["mu_hat"],
                        "mu_gen": gen["mu_hat"],
                        "sigma_stat": sigma,
                        "shift_sigma": shift,
                        "config": vars(args),
                    }
                )
                + "\n"
            )


if __name__ == "__main__":
    main()
