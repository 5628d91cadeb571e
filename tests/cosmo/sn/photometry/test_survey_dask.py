"""Per-field work of the survey commands through core.executor: a dask cluster gives the same
candidates and light curves as the local run."""

from __future__ import annotations

import pandas as pd

from rediscovery.cosmo.sn.images import list_survey
from rediscovery.cosmo.sn.survey import detect_survey, survey_photometry


def test_detection_and_photometry_on_a_dask_local_cluster_match_the_local_run(survey_dir):
    import distributed

    survey = list_survey(survey_dir)
    hosts = survey_dir / "hosts.csv"
    local = detect_survey(survey, hosts, n_workers=1, progress=False)
    assert len(local) > 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        remote = detect_survey(survey, hosts, scheduler=cluster.scheduler_address,
                               progress=False)
        lc_remote = survey_photometry(survey, local, scheduler=cluster.scheduler_address,
                                      progress=False)
    pd.testing.assert_frame_equal(local, remote)
    lc_local = survey_photometry(survey, local, n_workers=1, progress=False)
    pd.testing.assert_frame_equal(lc_local, lc_remote)
