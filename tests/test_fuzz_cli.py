"""Hostile command lines for the root commands (``unblind``, usage errors): one line, exit
code 2, no traceback. Each row: (id, files of a fake run directory, argv, message fragment)."""

from __future__ import annotations

import pytest

TRUTH = '{"mu": 1.0}'
RESULTS = '{"mu_hat": 1.1, "mu_68": [0.9, 1.3]}'

CASES: list[tuple[str, dict[str, str], list[str], str]] = [
    ("results-corrupt", {"truth.json": TRUTH, "results.json": '{"mu_hat": 1.'},
     ["unblind", "{run}"], "results.json: not valid JSON"),
    ("results-binary", {"truth.json": TRUTH, "results.json": "\udcff\udcfe"},
     ["unblind", "{run}"], "results.json: not a text file"),
    ("results-list", {"truth.json": TRUTH, "results.json": "[1, 2]"}, ["unblind", "{run}"],
     "expected a JSON object"),
    ("results-mu-null", {"truth.json": TRUTH, "results.json": '{"mu_hat": null, "mu_68": null}'},
     ["unblind", "{run}"], "did not converge"),
    ("results-interval-text", {"truth.json": TRUTH,
                               "results.json": '{"mu_hat": 1, "mu_68": "abc"}'},
     ["unblind", "{run}"], "unexpected content in the results.json"),
    ("results-nuisances-list", {"truth.json": '{"mu": 1, "nuisance_alphas": {"tes": 0.1}}',
                                "results.json": '{"mu_hat": 1, "mu_68": [0, 2], '
                                                '"nuisances": [1]}'},
     ["unblind", "{run}"], "unexpected content"),
    ("truth-corrupt", {"sim/truth.json": "{", "results.json": RESULTS}, ["unblind", "{run}"],
     "truth.json: not valid JSON"),
    ("truth-list", {"sim/truth.json": "[]", "results.json": RESULTS}, ["unblind", "{run}"],
     "expected a JSON object"),
    ("truth-alphas-text", {"truth.json": '{"mu": 1, "nuisance_alphas": {"tes": "x"}}',
                           "results.json": RESULTS}, ["unblind", "{run}"],
     "unexpected content in the truth.json"),
    ("posterior-corrupt", {"truth.json": '{"H0": 70}', "fit/sn_posterior.json": "{{"},
     ["unblind", "{run}"], "sn_posterior.json: not valid JSON"),
    ("posterior-mean-text", {"truth.json": '{"Om": 0.3}',
                             "fit/sn_posterior.json": '{"Om": {"mean": "x", "lo68": 0, '
                                                      '"hi68": 1}}'},
     ["unblind", "{run}"], "unexpected content in the posterior summary"),
    ("no-truth", {"results.json": RESULTS}, ["unblind", "{run}"], "no truth.json"),
    ("no-results", {"truth.json": TRUTH}, ["unblind", "{run}"], "is the run finished"),
    ("run-missing", {}, ["unblind", "{run}/nope"], "run directory not found"),
    ("run-is-file", {"truth.json": TRUTH}, ["unblind", "{run}/truth.json"],
     "not a run directory"),
    ("unknown-command", {}, ["nosuch"], "No such command"),
    ("unknown-root-option", {}, ["--bogus"], "No such option"),
    ("unblind-no-argument", {}, ["unblind"], "Missing argument"),
]


@pytest.mark.parametrize(("files", "argv", "fragment"),
                         [pytest.param(f, a, m, id=i) for i, f, a, m in CASES])
def test_refused_in_one_line_with_exit_2(files, argv, fragment, tmp_path, run_cli) -> None:
    run = tmp_path / "run"
    run.mkdir()
    for name, text in files.items():
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_bytes(text.encode("utf-8", "surrogateescape"))
    code, err = run_cli([a.format(run=run) for a in argv])
    assert code == 2, err
    assert fragment in err, err


def test_case_ids_are_unique() -> None:
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


def test_unexpected_errors_are_one_line_and_point_to_debug(monkeypatch, run_cli, tmp_path):
    """A bug (any other exception) is one line with exit code 1 and the hint to --debug."""
    from rediscovery.core import unblind

    def broken(run_dir):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(unblind, "unblind", broken)
    code, err = run_cli(["unblind", tmp_path])
    assert code == 1 and "internal error ZeroDivisionError" in err and "--debug" in err
