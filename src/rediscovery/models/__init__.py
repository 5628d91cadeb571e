"""The database of trained models, owned by the models team (Les Houches 2019 "database of
trained networks"): model cards, load by name, export and import.

Reads: the package's shipped models (the CMB TT emulators), a user registry folder
(``$REDISCOVERY_MODELS`` or ``--registry DIR``; default ``models/`` in the user data folder),
exported model folders and ``.tar.gz`` archives, Higgs run directories (``train/model``,
``manifest.json``, ``train/metrics.json``) and emulator ``.npz`` files.
Writes: one folder per model in the user registry (``card.json`` + the model's files in their
library's own format), exported folders and archives.

>>> from rediscovery.models import load
>>> emu = load("cmb-emulator-tt")            # a callable with a validity box
>>> emu(H0=67.3).shape                       # D_ℓ^TT in μK² for ℓ = 2 … 2508
(2507,)
"""

from __future__ import annotations

from rediscovery.models.card import (
    FileEntry,
    InputSpec,
    ModelCard,
    OutputSpec,
    OutsideValidityError,
    TrainingData,
    check_inputs,
)
from rediscovery.models.kinds import (
    EventClassifierModel,
    GeneratorModel,
    LoadedModel,
    ParameterModel,
)
from rediscovery.models.registry import (
    REGISTRY_ENV,
    SHIPPED,
    Entry,
    default_registry,
    export_model,
    find_model,
    import_model,
    list_models,
    load,
    register_classifier,
    register_emulator,
    register_flow,
    verify_files,
)

__all__ = [
    "REGISTRY_ENV",
    "SHIPPED",
    "Entry",
    "EventClassifierModel",
    "FileEntry",
    "GeneratorModel",
    "InputSpec",
    "LoadedModel",
    "ModelCard",
    "OutputSpec",
    "OutsideValidityError",
    "ParameterModel",
    "TrainingData",
    "check_inputs",
    "default_registry",
    "export_model",
    "find_model",
    "import_model",
    "list_models",
    "load",
    "register_classifier",
    "register_emulator",
    "register_flow",
    "verify_files",
]
