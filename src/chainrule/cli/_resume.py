"""``chainrule train --resume DIR``: the checkpoint a run leaves in DIR, and going on.

``DIR/checkpoint.npz`` is a chainrule model file (kind ``"TrainRunCheckpoint"``, written
by :func:`chainrule.save`): pickle-free, read as untrusted input, header first, by
:func:`chainrule.load`. It holds the run at its last epoch (not the kept best weights):

=========  ===========================================================================
field      what
=========  ===========================================================================
options    the run's ``TrainOptions`` (data, split, network, solver, seed, ...)
data       the rows' count and a BLAKE2b digest of the rows the estimator was given
           (after the train/test split, the preprocessing and the target's scaling),
           and ``"test"``, the digest of the test rows
estimator  the estimator with its solver's state; arrays ``estimator.*``
history    its ``history_``; arrays ``history.*``
stopping   ``[class name, state]`` of ValidationLoss or LossStall; arrays ``stopping.*``
order      the state of the epoch order's generator (:class:`~._loop.EpochOrder`)
=========  ===========================================================================

So ``--epochs 40`` equals ``--epochs 20`` then ``--resume DIR --epochs 40``, bit for bit.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields
from pathlib import Path

import numpy as np

from .._checks import check_state_keys
from ..persistence.npz import join_state, load, register_kind, split_state
from ..training.checkpoint import check_generator_state, history_from_state, history_to_state
from ._options import TrainOptions

#: the file in --out that --resume reads
CHECKPOINT = "checkpoint.npz"
#: options a resumed run may change; every other one is the run's own
CHANGEABLE = ("epochs", "out", "progress", "plots")
_FIELDS = ("options", "data", "estimator", "history", "stopping", "order")
_NULLABLE = ("target", "batch_size", "alpha", "sep", "id_column")
_FLAGS = {"early_stopping": "--no-early-stopping", "id_column": "--id"}


def data_identity(X, y) -> dict:
    """``{"n_rows", "digest"}``: the rows' count and a digest of their values and types."""
    digest = hashlib.blake2b(digest_size=16)
    for A in (np.asarray(X), np.asarray(y)):
        A = np.ascontiguousarray(A.astype(str) if A.dtype == object else A)
        digest.update(f"{A.dtype.str}{A.shape}".encode())
        digest.update(A.tobytes())
    return {"n_rows": len(y), "digest": digest.hexdigest()}


class TrainCheckpoint:
    """A ``chainrule train`` run after its last epoch; see the module docstring.

    ``estimator_state`` is the estimator's ``(spec, arrays)`` as saved (its own copy);
    ``estimator`` the estimator rebuilt from it (None until read from a file).
    """

    def __init__(self, estimator_state, history, stopping, order, data, options=None) -> None:
        self.estimator_state, self.history, self.stopping = estimator_state, history, stopping
        self.order, self.data, self.options = order, data, options
        self.estimator = None

    @property
    def epoch(self) -> int:
        return len(self.history.epochs)

    @property
    def stopped(self) -> bool:
        return self.history.stopped_epoch is not None

    def _to_chainrule_state(self):
        spec, arrays = self.estimator_state
        history, more = history_to_state(self.history)
        stopping, stop_arrays = split_state(self.stopping[1], "stopping.")
        out = {f"estimator.{k}": v for k, v in arrays.items()}
        out.update(more, **stop_arrays)
        values = {"options": self.options, "data": self.data, "estimator": spec,
                  "history": history, "stopping": [self.stopping[0], stopping],
                  "order": self.order}  # fmt: skip
        return values, out

    @classmethod
    def _from_chainrule_state(cls, spec, arrays):
        from ..estimators.mlp import MLPClassifier, MLPRegressor

        check_state_keys(spec, _FIELDS, "the train checkpoint", _FIELDS)
        kinds = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}
        kind = spec["estimator"].get("estimator") if isinstance(spec["estimator"], dict) else None
        if kind not in kinds:
            raise ValueError(f"the checkpoint's estimator must be one of {list(kinds)}.")
        est_arrays = {k[10:]: v for k, v in arrays.items() if k.startswith("estimator.")}
        known = ("estimator.", "history.", "stopping.")
        if any(not k.startswith(known) for k in arrays):
            raise ValueError("the checkpoint holds arrays that belong to nothing.")
        est = kinds[kind]._from_chainrule_state(spec["estimator"], est_arrays)
        est.history_ = history_from_state(spec["history"], arrays)
        check_generator_state(spec["order"])
        data_keys = ("n_rows", "digest", "test")
        check_state_keys(spec["data"], data_keys, "the checkpoint's data", data_keys)
        stopping = spec["stopping"]
        if not (isinstance(stopping, list) and len(stopping) == 2 and isinstance(stopping[0], str)):
            raise ValueError("the checkpoint's 'stopping' must be [class name, state].")
        state = join_state(stopping[1], arrays, "stopping.")
        out = cls((spec["estimator"], est_arrays), est.history_, [stopping[0], state],
                  spec["order"], spec["data"], _checked_options(spec["options"]))  # fmt: skip
        out.estimator = est
        return out

    def check_test_rows(self, X_test, y_test) -> None:
        """Refuse (ValueError) test rows other than the checkpointed run's."""
        if data_identity(X_test, y_test)["digest"] != self.data["test"]:
            raise ValueError(
                "--resume: the test rows differ from the checkpointed run's (the data file "
                "changed); resume with the same data."
            )

    def prepare(self, est, X, y, stopping, order) -> int:
        """Check the data and the stopping rule are the run's; give ``est`` (this
        checkpoint's estimator), ``stopping`` and ``order`` their states; return the
        epochs done."""
        if data_identity(X, y) != {k: self.data[k] for k in ("n_rows", "digest")}:
            raise ValueError(
                "--resume: the training rows differ from the checkpointed run's (the data "
                "file changed, or an option that shapes them); resume with the same data."
            )
        if type(stopping).__name__ != self.stopping[0]:
            raise ValueError(
                f"--resume: the run stopped with {self.stopping[0]}, this one would use "
                f"{type(stopping).__name__}; the data or the split differ."
            )
        stopping.resume_from(self.stopping[1])
        order.load_state_dict(self.order)
        est._continue_solver = True
        est.set_params(warm_start=True)
        return self.epoch


register_kind("TrainRunCheckpoint", TrainCheckpoint)


def _checked_options(stored) -> dict:
    """The stored options: exactly TrainOptions' fields, each of its default's type."""
    names = [f.name for f in fields(TrainOptions)]
    if isinstance(stored, dict) and "keep" not in stored:  # a run from before --keep
        stored = {**stored, "keep": []}
    check_state_keys(stored, names, "the checkpoint's options", names)
    for f in fields(TrainOptions):
        value, default = stored[f.name], f.default
        if value is None and f.name in _NULLABLE:
            continue
        if isinstance(default, tuple):
            ok = isinstance(value, list) and all(type(v) in (int, str) for v in value)
        elif isinstance(default, float) or f.name == "alpha":
            ok = type(value) in (int, float)
        else:
            ok = type(value) is type(default) or (f.name in _NULLABLE and type(value) in (int, str))
        if not ok:
            raise ValueError(f"the checkpoint's option {f.name!r} has a wrong type.")
    return stored


def read_run(folder) -> TrainCheckpoint:
    """The checkpoint in ``folder`` (ValueError in one line if missing or invalid)."""
    path = Path(folder) / CHECKPOINT
    if not Path(folder).is_dir():
        raise ValueError(f"--resume {folder}: no such folder; name the --out of a run.")
    if not path.is_file():
        raise ValueError(
            f"--resume {folder}: the folder holds no {CHECKPOINT} (runs with --solver sgd or "
            "adam write one; lbfgs runs and runs of older versions do not)."
        )
    found = load(path)
    if not isinstance(found, TrainCheckpoint):
        raise ValueError(f"--resume {folder}: {CHECKPOINT} is a {type(found).__name__}, not a run.")
    return found


def resumed_options(checkpoint: TrainCheckpoint, given, defaults):
    """The run's options with the ``CHANGEABLE`` ones from ``given``; a ValueError
    naming the first other option given that differs from the run's."""
    stored = {k: tuple(v) if isinstance(v, list) else v for k, v in checkpoint.options.items()}
    for f in fields(TrainOptions):
        mine = getattr(given, f.name)
        if f.name in CHANGEABLE or mine == getattr(defaults, f.name) or mine == stored[f.name]:
            continue
        flag = _FLAGS.get(f.name, "--" + f.name.replace("_", "-"))
        raise ValueError(
            f"--resume: {flag} {mine!r} differs from the run's {stored[f.name]!r}; leave it out "
            "(the run's options are kept) or start a new run."
        )
    merged = dict(stored, **{k: getattr(given, k) for k in CHANGEABLE})
    return TrainOptions(**merged)
