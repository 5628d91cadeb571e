"""Boosted decision trees: XGBoost (hist), LightGBM and scikit-learn's HistGradientBoosting.

The wrappers call each library's own training function on the arrays once (no extra passes
over the data; ``benchmarks/train.py`` checks the overhead against the bare call), with
early stopping on the validation set when one is given. Missing values (NaN, e.g. jet
variables of events without jets) are handled natively by all three libraries.

Saving
------
* XGBoost: ``Booster.save_model`` JSON, trimmed to the best iteration.
* LightGBM: ``Booster.save_model`` text, best iteration only.
* HistGradientBoosting has no native non-pickle format. Rather than a pickle (which executes
  code on load and breaks across scikit-learn versions) the fitted trees are written as plain
  arrays in a NumPy ``.npz`` (per node: feature index, threshold, missing-goes-left, children,
  leaf flag, value; plus the baseline log-odds) and predicted by a vectorised NumPy traversal
  (:func:`_forest_raw_predict`), one loop over tree depth, none over events. The tests check
  that it reproduces ``predict_proba`` exactly (same float64 comparisons, same summation
  order). A loaded HGB model can predict but not be trained further.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from rediscovery.core.errors import ModelFileError
from rediscovery.core.files import atomic_path
from rediscovery.higgs.classifiers.base import Classifier, Param

__all__ = ["HGBClassifier", "LightGBMClassifier", "XGBoostClassifier"]

class XGBoostClassifier(Classifier):
    """XGBoost gradient-boosted trees, ``tree_method="hist"``.

    Hyper-parameters (defaults): ``n_estimators`` 300, ``learning_rate`` 0.1, ``max_depth`` 6,
    ``min_child_weight`` 1.0, ``subsample`` 1.0, ``colsample_bytree`` 1.0, ``reg_lambda`` 1.0,
    ``max_bin`` 256, ``early_stopping_rounds`` 20 (used only with a validation set).
    """

    kind = "xgboost"
    model_file = "model.xgb.json"
    libraries = ("xgboost",)
    defaults: ClassVar[dict[str, Any]] = {
        "n_estimators": 300,
        "learning_rate": 0.1,
        "max_depth": 6,
        "min_child_weight": 1.0,
        "subsample": 1.0,
        "colsample_bytree": 1.0,
        "reg_lambda": 1.0,
        "max_bin": 256,
        "early_stopping_rounds": 20,
    }
    constraints: ClassVar[dict[str, Param]] = {
        "n_estimators": Param(int, 1),
        "learning_rate": Param(float, 0, low_open=True),
        "max_depth": Param(int, 0),
        "min_child_weight": Param(float, 0),
        "subsample": Param(float, 0, 1, low_open=True),
        "colsample_bytree": Param(float, 0, 1, low_open=True),
        "reg_lambda": Param(float, 0),
        "max_bin": Param(int, 2),
        "early_stopping_rounds": Param(int, 1),
    }

    def library_params(self) -> dict[str, Any]:
        """The parameter dict passed to ``xgboost.train``."""
        p = self.params
        return {
            "objective": "binary:logistic",
            "eval_metric": "logloss",
            "tree_method": "hist",
            "eta": p["learning_rate"],
            "max_depth": p["max_depth"],
            "min_child_weight": p["min_child_weight"],
            "subsample": p["subsample"],
            "colsample_bytree": p["colsample_bytree"],
            "lambda": p["reg_lambda"],
            "max_bin": p["max_bin"],
            "nthread": self.n_threads,
            "seed": self.seed,
        }

    def _fit(self, X, y, w, val) -> None:
        import xgboost as xgb

        dtrain = xgb.DMatrix(X, label=y, weight=w, missing=np.nan, nthread=self.n_threads)
        kw: dict[str, Any] = {}
        if val is not None:
            dval = xgb.DMatrix(val[0], label=val[1], weight=val[2], missing=np.nan,
                               nthread=self.n_threads)
            kw = {"evals": [(dval, "valid")],
                  "early_stopping_rounds": self.params["early_stopping_rounds"]}
        booster = xgb.train(self.library_params(), dtrain,
                            num_boost_round=self.params["n_estimators"], verbose_eval=False, **kw)
        n_trees = booster.num_boosted_rounds()
        if val is not None:
            n_trees = booster.best_iteration + 1
            booster = booster[:n_trees]
        self.booster_ = booster
        self.training_info_["n_trees"] = int(n_trees)

    def _predict(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        import xgboost as xgb

        return self.booster_.predict(xgb.DMatrix(X, missing=np.nan, nthread=self.n_threads))

    def _save_model(self, path: Path) -> dict[str, Any]:
        with atomic_path(path) as tmp:
            # xgboost picks the format from the extension
            json_tmp = tmp.with_suffix(".json")
            self.booster_.save_model(str(json_tmp))
            json_tmp.replace(tmp)
        return {}

    def load_library_file(self, path: Path, meta: dict[str, Any]) -> None:
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(str(path))
        booster.set_param({"nthread": self.n_threads})
        self._check_n_features(path, booster.num_features())
        self.booster_ = booster


class LightGBMClassifier(Classifier):
    """LightGBM gradient-boosted trees (leaf-wise growth).

    Hyper-parameters (defaults): ``n_estimators`` 300, ``learning_rate`` 0.1, ``num_leaves``
    31, ``max_depth`` -1 (no limit), ``min_child_samples`` 20, ``subsample`` 1.0,
    ``colsample_bytree`` 1.0, ``reg_lambda`` 0.0, ``max_bin`` 255, ``early_stopping_rounds`` 20.
    """

    kind = "lightgbm"
    model_file = "model.lgb.txt"
    libraries = ("lightgbm",)
    defaults: ClassVar[dict[str, Any]] = {
        "n_estimators": 300,
        "learning_rate": 0.1,
        "num_leaves": 31,
        "max_depth": -1,
        "min_child_samples": 20,
        "subsample": 1.0,
        "colsample_bytree": 1.0,
        "reg_lambda": 0.0,
        "max_bin": 255,
        "early_stopping_rounds": 20,
    }
    constraints: ClassVar[dict[str, Param]] = {
        "n_estimators": Param(int, 1),
        "learning_rate": Param(float, 0, low_open=True),
        "num_leaves": Param(int, 2, 131072),
        "max_depth": Param(int),  # <= 0: no limit
        "min_child_samples": Param(int, 0),
        "subsample": Param(float, 0, 1, low_open=True),
        "colsample_bytree": Param(float, 0, 1, low_open=True),
        "reg_lambda": Param(float, 0),
        "max_bin": Param(int, 2),
        "early_stopping_rounds": Param(int, 1),
    }

    def library_params(self) -> dict[str, Any]:
        """The parameter dict passed to ``lightgbm.train``."""
        p = self.params
        return {
            "objective": "binary",
            "metric": "binary_logloss",
            "learning_rate": p["learning_rate"],
            "num_leaves": p["num_leaves"],
            "max_depth": p["max_depth"],
            "min_data_in_leaf": p["min_child_samples"],
            "bagging_fraction": p["subsample"],
            "bagging_freq": 1 if p["subsample"] < 1.0 else 0,
            "feature_fraction": p["colsample_bytree"],
            "lambda_l2": p["reg_lambda"],
            "max_bin": p["max_bin"],
            "num_threads": self.n_threads,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    def _fit(self, X, y, w, val) -> None:
        import lightgbm as lgb

        params = self.library_params()
        dtrain = lgb.Dataset(X, label=y, weight=w, params={"max_bin": params["max_bin"]},
                             free_raw_data=True)
        kw: dict[str, Any] = {}
        if val is not None:
            dval = lgb.Dataset(val[0], label=val[1], weight=val[2], reference=dtrain)
            kw = {"valid_sets": [dval], "valid_names": ["valid"],
                  "callbacks": [lgb.early_stopping(self.params["early_stopping_rounds"],
                                                   verbose=False)]}
        booster = lgb.train(params, dtrain, num_boost_round=self.params["n_estimators"], **kw)
        best = booster.best_iteration if val is not None and booster.best_iteration > 0 \
            else booster.current_iteration()
        self.booster_ = booster
        self.best_iteration_ = int(best)
        self.training_info_["n_trees"] = int(best)

    def _predict(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(self.booster_.predict(X, num_iteration=self.best_iteration_,
                                                num_threads=self.n_threads), dtype=np.float64)

    def _save_model(self, path: Path) -> dict[str, Any]:
        with atomic_path(path) as tmp:
            self.booster_.save_model(str(tmp), num_iteration=self.best_iteration_)
        return {}

    def load_library_file(self, path: Path, meta: dict[str, Any]) -> None:
        import lightgbm as lgb

        booster = lgb.Booster(model_file=str(path))
        self._check_n_features(path, booster.num_feature())
        self.booster_ = booster
        self.best_iteration_ = booster.current_iteration()


#: Node arrays written for a HistGradientBoosting forest (``_forest_raw_predict`` inputs).
_HGB_NODE_FIELDS = ("feature_idx", "num_threshold", "missing_go_to_left", "left", "right",
                    "is_leaf", "value")


def _forest_raw_predict(
    X: NDArray[np.float64],
    baseline: float,
    tree_offsets: NDArray[np.int64],
    nodes: dict[str, NDArray[Any]],
    max_depth: int,
) -> NDArray[np.float64]:
    """Raw (log-odds) prediction of a forest stored as flat node arrays.

    Node ``k`` of tree ``t`` is row ``tree_offsets[t] + k``; an event goes left when
    ``x[feature] <= threshold`` or when ``x[feature]`` is NaN and ``missing_go_to_left``, as in
    scikit-learn's ``TreePredictor``. Trees are added in order starting from the baseline,
    the summation order of scikit-learn, so the result is bit-identical.
    """
    n = X.shape[0]
    raw = np.full(n, baseline, dtype=np.float64)
    rows = np.arange(n)
    feat, thr = nodes["feature_idx"], nodes["num_threshold"]
    mleft, left, right = nodes["missing_go_to_left"], nodes["left"], nodes["right"]
    leaf, value = nodes["is_leaf"], nodes["value"]
    for off in tree_offsets:
        idx = np.full(n, off, dtype=np.int64)
        for _ in range(max_depth + 1):
            active = ~leaf[idx]
            if not active.any():
                break
            x = X[rows, feat[idx]]
            go_left = np.where(np.isnan(x), mleft[idx], x <= thr[idx])
            nxt = off + np.where(go_left, left[idx], right[idx])
            idx = np.where(active, nxt, idx)
        raw += value[idx]
    return raw


class HGBClassifier(Classifier):
    """scikit-learn ``HistGradientBoostingClassifier``, the reference implementation.

    Hyper-parameters (defaults): ``n_estimators`` 300 (``max_iter``), ``learning_rate`` 0.1,
    ``max_leaf_nodes`` 31, ``max_depth`` None, ``min_samples_leaf`` 20, ``l2_regularization``
    0.0, ``max_bins`` 255, ``early_stopping_rounds`` 20 (``n_iter_no_change``, with the
    validation set when given).
    """

    kind = "hgb"
    model_file = "model.hgb.npz"
    libraries = ("scikit-learn",)
    defaults: ClassVar[dict[str, Any]] = {
        "n_estimators": 300,
        "learning_rate": 0.1,
        "max_leaf_nodes": 31,
        "max_depth": None,
        "min_samples_leaf": 20,
        "l2_regularization": 0.0,
        "max_bins": 255,
        "early_stopping_rounds": 20,
    }
    constraints: ClassVar[dict[str, Param]] = {
        "n_estimators": Param(int, 1),
        "learning_rate": Param(float, 0, low_open=True),
        "max_leaf_nodes": Param(int, 2, none=True),
        "max_depth": Param(int, 1, none=True),
        "min_samples_leaf": Param(int, 1),
        "l2_regularization": Param(float, 0),
        "max_bins": Param(int, 2, 255),
        "early_stopping_rounds": Param(int, 1),
    }

    def _fit(self, X, y, w, val) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier

        p = self.params
        est = HistGradientBoostingClassifier(
            max_iter=p["n_estimators"],
            learning_rate=p["learning_rate"],
            max_leaf_nodes=p["max_leaf_nodes"],
            max_depth=p["max_depth"],
            min_samples_leaf=p["min_samples_leaf"],
            l2_regularization=p["l2_regularization"],
            max_bins=p["max_bins"],
            early_stopping=val is not None,
            n_iter_no_change=p["early_stopping_rounds"],
            scoring="loss",
            random_state=self.seed,
        )
        # sklearn takes its OpenMP thread count from threadpoolctl (a sklearn dependency)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(self.n_threads, user_api="openmp"):
            if val is not None:
                est.fit(X, y, sample_weight=w, X_val=val[0], y_val=val[1],
                        sample_weight_val=val[2])
            else:
                est.fit(X, y, sample_weight=w)
        self.estimator_ = est
        self._export(est)
        self.training_info_["n_trees"] = int(est.n_iter_)

    def _export(self, est: Any) -> None:
        # sklearn's fitted trees: est._predictors[iteration][0].nodes (binary: one tree per
        # iteration), a structured array with the fields of PREDICTOR_RECORD_DTYPE
        trees = [it[0].nodes for it in est._predictors]
        if any(t["is_categorical"].any() for t in trees):  # pragma: no cover - never enabled
            raise ModelFileError("categorical splits cannot be exported")
        sizes = np.array([t.size for t in trees], dtype=np.int64)
        allnodes = np.concatenate(trees)
        self.forest_ = {
            "baseline": float(np.asarray(est._baseline_prediction).ravel()[0]),
            "tree_offsets": np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64),
            "max_depth": int(allnodes["depth"].max()),
            "nodes": {
                "feature_idx": allnodes["feature_idx"].astype(np.int64),
                "num_threshold": allnodes["num_threshold"].astype(np.float64),
                "missing_go_to_left": allnodes["missing_go_to_left"].astype(bool),
                "left": allnodes["left"].astype(np.int64),
                "right": allnodes["right"].astype(np.int64),
                "is_leaf": allnodes["is_leaf"].astype(bool),
                "value": allnodes["value"].astype(np.float64),
            },
        }

    def _predict(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        f = self.forest_
        return expit(_forest_raw_predict(X, f["baseline"], f["tree_offsets"], f["nodes"],
                                         f["max_depth"]))

    def _save_model(self, path: Path) -> dict[str, Any]:
        f = self.forest_
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, baseline=np.array(f["baseline"]), tree_offsets=f["tree_offsets"],
                     max_depth=np.array(f["max_depth"]), **f["nodes"])
        return {"hgb_layout": "flat node arrays; see rediscovery.higgs.classifiers.bdt"}

    def load_library_file(self, path: Path, meta: dict[str, Any]) -> None:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ("baseline", "tree_offsets", "max_depth", *_HGB_NODE_FIELDS)
                       if k not in z.files]
            if missing:
                raise ModelFileError(f"{path}: arrays {missing} missing from the HGB model")
            nodes = {k: z[k] for k in _HGB_NODE_FIELDS}
            forest = {"baseline": float(z["baseline"]), "tree_offsets": z["tree_offsets"],
                      "max_depth": int(z["max_depth"]), "nodes": nodes}
        n_nodes = nodes["value"].size
        nf = len(self.features_ or ())
        if (any(nodes[k].size != n_nodes for k in _HGB_NODE_FIELDS)
                or np.any(nodes["feature_idx"][~nodes["is_leaf"]] >= nf)):
            raise ModelFileError(f"{path}: inconsistent HGB node arrays for {nf} features")
        self.forest_ = forest
