"""Saving and loading: the ``.npz`` + JSON format, read as untrusted input.

``npz.py`` holds ``save``/``load``, the file's header checks and the registry of kinds;
``state.py`` the layers' states (``layer_to_state``/``layer_from_state``, every stored
array checked) and ``split_state``/``join_state``; ``_model_file.py`` validates a file's
zip directory and headers before anything is read; ``bundle.py`` is the command's
saved model (preprocessing + estimator), imported on first use.
"""

from ._model_file import header_text_problem
from .npz import (
    ALLOWED_DTYPES,
    FORMAT_NAME,
    FORMAT_VERSION,
    SPEC_KEY,
    ModelFileError,
    load,
    register_kind,
    save,
)
from .state import join_state, layer_from_state, layer_to_state, split_state

__all__ = [
    "ALLOWED_DTYPES",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "SPEC_KEY",
    "ModelFileError",
    "header_text_problem",
    "join_state",
    "layer_from_state",
    "layer_to_state",
    "load",
    "register_kind",
    "save",
    "split_state",
]
