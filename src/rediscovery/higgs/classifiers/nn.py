"""A PyTorch multi-layer perceptron for signal/background classification (CPU).

* Standardisation inside the model: the network holds the training means and standard
  deviations (weighted by the training weights) as buffers, so a saved ``state_dict`` is a
  complete model; missing values (NaN) become 0 after standardisation (the mean) and, for
  each feature that had missing values in training, a 0/1 "missing" indicator is appended.
* Loss: weighted binary cross-entropy on the logits, Adam, mini-batches shuffled by a
  seeded ``torch.Generator``.
* Early stopping on the validation loss (``patience`` epochs), the best epoch's weights kept.
* Deterministic given ``seed``: ``torch.manual_seed`` for the initial weights and dropout,
  a generator for the shuffling, ``n_threads`` CPU threads (1 by default: see
  :class:`~rediscovery.higgs.classifiers.base.Classifier`).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from rediscovery.core.errors import ModelFileError
from rediscovery.core.files import atomic_path
from rediscovery.higgs.classifiers.base import Classifier, Param

__all__ = ["ACTIVATIONS", "EpochCallback", "MLPClassifier"]

logger = logging.getLogger(__name__)

#: Activation functions by name (``torch.nn`` classes).
ACTIVATIONS = ("relu", "gelu", "silu", "tanh", "elu", "leaky_relu")

#: ``callback(epoch, val_loss, val_scores)`` after each epoch (only with a validation set);
#: the HPO uses it to report intermediate values and to prune (it may raise to stop).
EpochCallback = Callable[[int, float, NDArray[np.float64]], None]


def _build_network(n_in: int, params: dict[str, Any], mean, std, missing_idx):
    import torch
    from torch import nn

    act_cls = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh,
               "elu": nn.ELU, "leaky_relu": nn.LeakyReLU}[params["activation"]]

    class _MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
            self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))
            self.register_buffer("missing_idx", torch.as_tensor(missing_idx, dtype=torch.long))
            layers: list[nn.Module] = []
            width = n_in + len(missing_idx)
            for _ in range(params["depth"]):
                layers += [nn.Linear(width, params["width"]), act_cls()]
                if params["dropout"] > 0:
                    layers.append(nn.Dropout(params["dropout"]))
                width = params["width"]
            layers.append(nn.Linear(width, 1))
            self.net = nn.Sequential(*layers)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mean, std = self.get_buffer("mean"), self.get_buffer("std")
            missing_idx = self.get_buffer("missing_idx")
            miss = torch.isnan(x)
            z = torch.where(miss, torch.zeros_like(x), (x - mean) / std)
            if missing_idx.numel():
                z = torch.cat([z, miss[:, missing_idx].to(z.dtype)], dim=1)
            return self.net(z).squeeze(-1)

    return _MLP()


class MLPClassifier(Classifier):
    """Fully connected network with a sigmoid output.

    Hyper-parameters (defaults): ``depth`` 3 hidden layers, ``width`` 64, ``activation``
    ``"relu"`` (one of :data:`ACTIVATIONS`), ``dropout`` 0.0, ``learning_rate`` 1e-3,
    ``weight_decay`` 0.0, ``batch_size`` 512, ``max_epochs`` 50, ``patience`` 5 (early
    stopping on the validation loss; without a validation set all ``max_epochs`` run).

    Attributes
    ----------
    history_
        Per epoch: ``train_loss`` and ``val_loss``.
    """

    kind = "nn"
    model_file = "model.pt"
    libraries = ("torch",)
    defaults: ClassVar[dict[str, Any]] = {
        "depth": 3,
        "width": 64,
        "activation": "relu",
        "dropout": 0.0,
        "learning_rate": 1e-3,
        "weight_decay": 0.0,
        "batch_size": 512,
        "max_epochs": 50,
        "patience": 5,
    }
    constraints: ClassVar[dict[str, Param]] = {
        "depth": Param(int, 0),
        "width": Param(int, 1),
        "activation": Param(str, choices=ACTIVATIONS),
        "dropout": Param(float, 0, 1, high_open=True),
        "learning_rate": Param(float, 0, low_open=True),
        "weight_decay": Param(float, 0),
        "batch_size": Param(int, 1),
        "max_epochs": Param(int, 1),
        "patience": Param(int, 1),
    }

    def __init__(self, *args: Any, epoch_callback: EpochCallback | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.epoch_callback = epoch_callback
        self.history_: list[dict[str, float]] = []

    def _fit(self, X, y, w, val) -> None:
        import torch

        torch.set_num_threads(self.n_threads)
        torch.manual_seed(self.seed)
        gen = torch.Generator().manual_seed(self.seed)
        p = self.params
        # weighted standardisation over the defined (non-NaN) values of each feature
        defined = ~np.isnan(X)
        wd = w[:, None] * defined
        tot = wd.sum(axis=0)
        mean = np.where(tot > 0, np.nansum(X * w[:, None], axis=0) / np.where(tot > 0, tot, 1),
                        0.0)
        var = np.nansum(wd * (np.nan_to_num(X) - mean) ** 2, axis=0) / np.where(tot > 0, tot, 1)
        std = np.sqrt(var)
        std = np.where(std > 0, std, 1.0)
        missing_idx = np.flatnonzero(~defined.all(axis=0))
        self.scaler_ = {"mean": mean.tolist(), "std": std.tolist(),
                        "missing_idx": missing_idx.tolist()}
        net = _build_network(X.shape[1], p, mean, std, missing_idx)
        opt = torch.optim.Adam(net.parameters(), lr=p["learning_rate"],
                               weight_decay=p["weight_decay"])
        loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
        Xt = torch.tensor(X, dtype=torch.float32)
        yt = torch.as_tensor(y, dtype=torch.float32)
        wt = torch.as_tensor(w, dtype=torch.float32)
        if val is not None:
            Xv = torch.tensor(val[0], dtype=torch.float32)
            yv = torch.as_tensor(val[1], dtype=torch.float32)
            wv = torch.as_tensor(val[2], dtype=torch.float32)
        best_loss, best_state, best_epoch, bad = np.inf, None, 0, 0
        self.history_ = []
        bs = int(p["batch_size"])
        for epoch in range(int(p["max_epochs"])):
            net.train()
            perm = torch.randperm(Xt.shape[0], generator=gen)
            total = 0.0
            for start in range(0, Xt.shape[0], bs):
                idx = perm[start:start + bs]
                opt.zero_grad()
                loss = (loss_fn(net(Xt[idx]), yt[idx]) * wt[idx]).sum() / wt[idx].sum()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * idx.numel()
            rec = {"epoch": epoch, "train_loss": total / Xt.shape[0]}
            if val is not None:
                net.eval()
                with torch.no_grad():
                    logits = net(Xv)
                    vloss = float((loss_fn(logits, yv) * wv).sum() / wv.sum())
                rec["val_loss"] = vloss
                self.history_.append(rec)
                if vloss < best_loss - 1e-7:
                    best_loss, best_epoch, bad = vloss, epoch, 0
                    best_state = copy.deepcopy(net.state_dict())
                else:
                    bad += 1
                if self.epoch_callback is not None:
                    self.epoch_callback(epoch, vloss, torch.sigmoid(logits).double().numpy())
                if bad >= p["patience"]:
                    logger.info("early stopping at epoch %d (best %d)", epoch, best_epoch)
                    break
            else:
                self.history_.append(rec)
                best_epoch = epoch
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()
        self.network_ = net
        self.training_info_.update(best_epoch=int(best_epoch), n_epochs=len(self.history_),
                                   history=self.history_)

    def _predict(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        import torch

        torch.set_num_threads(self.n_threads)
        out = np.empty(X.shape[0])
        with torch.no_grad():
            # chunks bound the memory of the hidden activations
            for start in range(0, X.shape[0], 65536):
                xb = torch.tensor(X[start:start + 65536], dtype=torch.float32)
                out[start:start + 65536] = torch.sigmoid(self.network_(xb)).double().numpy()
        return out

    def _save_model(self, path: Path) -> dict[str, Any]:
        import torch

        with atomic_path(path) as tmp:
            torch.save(self.network_.state_dict(), tmp)
        return {"scaler": self.scaler_,
                "architecture": {k: self.params[k] for k in ("depth", "width", "activation",
                                                             "dropout")}}

    def load_library_file(self, path: Path, meta: dict[str, Any]) -> None:
        import torch

        sc = meta.get("scaler")
        if not isinstance(sc, dict) or not {"mean", "std", "missing_idx"} <= set(sc):
            raise ModelFileError(f"{path.parent}: model.json has no valid 'scaler'")
        nf = len(self.features_ or ())
        if len(sc["mean"]) != nf or len(sc["std"]) != nf:
            raise ModelFileError(f"{path.parent}: scaler has {len(sc['mean'])} features, "
                                 f"the feature list {nf}")
        net = _build_network(nf, self.params, sc["mean"], sc["std"], sc["missing_idx"])
        state = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(state)
        net.eval()
        self.scaler_ = sc
        self.network_ = net
