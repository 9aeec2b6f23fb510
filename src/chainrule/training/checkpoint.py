"""Exact resume of ``fit``: a checkpoint holds everything the next epoch needs.

``fit(..., checkpoint=path)`` writes one at the end of the run; ``fit(..., resume=path)``
reads it and goes on from the epoch after it, so that::

    fit(net, loss, X, y, optimizer=opt, epochs=100, rng=0)

gives bit for bit the weights and history of::

    fit(net, loss, X, y, optimizer=opt, epochs=50, rng=0, checkpoint="run.npz")
    # ... later, in a new process, with net and opt built the same way ...
    fit(net, loss, X, y, optimizer=opt, epochs=100, rng=0, resume="run.npz")

The file is a chainrule model file (written by :func:`chainrule.save`, kind
``"TrainingCheckpoint"``): pickle-free, read as untrusted input (``chainrule.load``
returns a :class:`Checkpoint`). Its spec holds:

============  ======================================================================
field         what
============  ======================================================================
epoch         the last epoch completed (1-based)
stopped       true when a callback stopped training after that epoch
network       the architecture; arrays ``network.*`` (parameters and buffers)
optimizer     ``optimizer.state_dict(net)`` (class, config, lr, step counts);
              its buffers are the arrays ``optimizer.<i>.<buffer>``
schedule      ``schedule.state_dict()``, or null without a schedule
callbacks     ``[[class name, state], ...]``; arrays ``callbacks.<j>.*``
rng           ``{"start": ..., "now": ...}``: the state of ``fit``'s generator
              before the validation split and after the last epoch
layer_rngs    the states of the layers' own generators (``Dropout``), in order
history       ``{"keys", "params", "stopped_epoch"}``; arrays ``history.epochs``
              and ``history.<k>`` (the k-th logged value, float64)
data          ``{"n_train", "n_val", "batch_size", "digest"}``: a BLAKE2b digest of
              the training and validation data after the split
============  ======================================================================

The states follow one protocol (``state_dict`` / ``load_state_dict``, see
``chainrule._checks``). Loading rebuilds the network, and the optimizer, schedule and
early stopping from their class and config (chainrule's own classes only) and checks
every state against the network: a negative step count, a moment of the wrong shape
or a NaN is refused with a :class:`~chainrule.persistence.ModelFileError`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from .._checks import check_state_keys, state_count
from ..callbacks import EarlyStopping
from ..layers.base import Layer
from ..optimizers import OPTIMIZERS
from ..persistence.npz import load, register_kind, save
from ..persistence.state import join_state, layer_from_state, layer_to_state, split_state
from ..schedules import SCHEDULE_CLASSES
from .history import History

_OPTIMIZERS = {cls.__name__: cls for cls in OPTIMIZERS.values()}
_CALLBACKS = {"EarlyStopping": EarlyStopping}
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")
_FIELDS = (
    "epoch",
    "stopped",
    "network",
    "optimizer",
    "schedule",
    "callbacks",
    "rng",
    "layer_rngs",
    "history",
    "data",
)


class Checkpoint:
    """The state of a ``fit`` run after an epoch; see the module docstring.

    Attributes
    ----------
    epoch : int
        The last epoch completed.
    stopped : bool
        Whether a callback stopped training after it (a resume then trains no further).
    net : Layer
        The network as it was (its own copy of the weights).
    optimizer, schedule : dict
        Their ``state_dict()`` (schedule None without one).
    callbacks : list of (str, dict)
        Each callback's class name and ``state_dict(net)``.
    rng : dict
        ``{"start": state, "now": state}`` of ``fit``'s bit generator.
    layer_rngs : list of dict
        The layers' own generators' states.
    history : History
    data : dict
        What identifies the data after the split.
    """

    def __init__(self, **fields) -> None:
        names = {"net" if f == "network" else f for f in _FIELDS}
        if set(fields) != names:
            raise TypeError(f"Checkpoint takes exactly the fields {sorted(names)}.")
        self.__dict__.update(fields)

    # ------------------------------------------------------------------ from a run
    @classmethod
    def of_run(cls, run, data, callbacks, rng, rng_start: dict, stopped: bool) -> Checkpoint:
        """The checkpoint of a ``fit`` run (``_Run``) at the end of its last epoch."""
        net = run.net
        schedule = run.optimizer.schedule
        return cls(
            epoch=run.history.epochs[-1],
            stopped=bool(stopped),
            net=net,
            optimizer=run.optimizer.state_dict(net),
            schedule=None if schedule is None else schedule.state_dict(),
            callbacks=[(type(cb).__name__, cb.state_dict(net)) for cb in callbacks],
            rng={
                "start": generator_state(rng_start),
                "now": generator_state(rng.bit_generator.state),
            },
            layer_rngs=layer_rng_states(net),
            history=run.history,
            data=_data_identity(data),
        )

    # ------------------------------------------------------------------ the file
    def _to_chainrule_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        architecture, arrays = layer_to_state(self.net, "network.")
        optimizer, more = split_state(self.optimizer, "optimizer.")
        arrays.update(more)
        callbacks = []
        for j, (name, state) in enumerate(self.callbacks):
            values, more = split_state(state, f"callbacks.{j}.")
            callbacks.append([name, values])
            arrays.update(more)
        history, more = history_to_state(self.history)
        arrays.update(more)
        spec = {
            "epoch": self.epoch,
            "stopped": self.stopped,
            "network": architecture,
            "optimizer": optimizer,
            "schedule": self.schedule,
            "callbacks": callbacks,
            "rng": self.rng,
            "layer_rngs": self.layer_rngs,
            "history": history,
            "data": self.data,
        }
        return spec, arrays

    @classmethod
    def _from_chainrule_state(cls, spec: dict, arrays: dict[str, np.ndarray]) -> Checkpoint:
        """Rebuild and check everything (the file is untrusted): ValueError if it fails."""
        check_state_keys(spec, _FIELDS, "checkpoint", _FIELDS)
        net_arrays = {k: v for k, v in arrays.items() if k.startswith("network.")}
        net = layer_from_state(spec["network"], net_arrays)
        if set(layer_to_state(net, "network.")[1]) != set(net_arrays):
            raise ValueError("the checkpoint holds network arrays that belong to no layer.")
        known = ("network.", "optimizer.", "callbacks.", "history.")
        stray = [k for k in arrays if not k.startswith(known)]
        if stray:
            raise ValueError(f"the checkpoint holds arrays {stray[:5]} that belong to nothing.")
        optimizer = join_state(spec["optimizer"], arrays, "optimizer.")
        _check_with_class(
            optimizer, _OPTIMIZERS, "optimizer", lambda o: o.load_state_dict(optimizer, net)
        )
        schedule = spec["schedule"]
        if schedule is not None:
            _check_with_class(
                schedule, SCHEDULE_CLASSES, "schedule", lambda s: s.load_state_dict(schedule)
            )
        callbacks = _callbacks_from_state(spec["callbacks"], arrays, net)
        history = history_from_state(spec["history"], arrays)
        epoch = state_count(spec, "epoch", "checkpoint", low=1)
        if history.epochs[-1:] != [epoch]:
            raise ValueError(f"the checkpoint's epoch {epoch} is not its history's last epoch.")
        if not isinstance(spec["stopped"], bool):
            raise ValueError("the checkpoint's 'stopped' must be true or false.")
        rng = check_state_keys(spec["rng"], ("start", "now"), "checkpoint rng", ("start", "now"))
        for state in (rng["start"], rng["now"]):
            check_generator_state(state)
        set_layer_rng_states(net, spec["layer_rngs"])  # checks them
        data_keys = ("n_train", "n_val", "batch_size", "digest")
        check_state_keys(spec["data"], data_keys, "checkpoint data", data_keys)
        fields = {k: v for k, v in spec.items() if k != "network"}
        fields.update(net=net, optimizer=optimizer, callbacks=callbacks, history=history)
        return cls(**fields)

    # ------------------------------------------------------------------ resuming
    def check(self, run, data, callbacks, epochs: int, schedule) -> None:
        """Refuse (ValueError) to resume another run: network, optimizer, schedule,
        callbacks, logged values or data that differ; restore the callbacks' states.

        Called by ``fit`` among its checks (before anything else moves).
        """
        architecture = _json(layer_to_state(run.net, "network.")[0])
        if architecture != _json(layer_to_state(self.net, "network.")[0]):
            raise ValueError(
                "fit: resume: the network differs from the checkpoint's (layers, sizes, "
                "configs or dtype); build it the same way as for the run that wrote it."
            )
        _same_class_and_config(run.optimizer, self.optimizer, "optimizer")
        schedule = schedule if schedule is not None else run.optimizer.schedule
        if (schedule is None) != (self.schedule is None):
            raise ValueError("fit: resume: give the schedule the checkpointed run had (or none).")
        if schedule is not None:
            _same_class_and_config(schedule, self.schedule, "schedule")
        if [type(cb).__name__ for cb in callbacks] != [name for name, _ in self.callbacks]:
            raise ValueError(
                f"fit: resume: the callbacks {[type(cb).__name__ for cb in callbacks]} differ "
                f"from the checkpoint's {[name for name, _ in self.callbacks]}."
            )
        if list(run.keys) != list(self.history.history):
            raise ValueError("fit: resume: the logged values (metrics, validation) differ.")
        if _data_identity(data) != self.data:
            raise ValueError(
                "fit: resume: the training or validation data differ from the checkpointed "
                "run's (after its split); pass the same X, y, sample_weight and split."
            )
        if epochs < self.epoch:
            raise ValueError(
                f"fit: resume: the checkpoint is at epoch {self.epoch}, after epochs={epochs}; "
                f"pass epochs >= {self.epoch} (the total, counted from the first epoch)."
            )
        for cb, (_, state) in zip(callbacks, self.callbacks, strict=True):
            cb.load_state_dict(state, run.net)  # after on_train_begin, which resets them

    def restore(self, run, rng, epochs: int) -> int:
        """Copy the weights, optimizer, schedule, generators and history into the run
        (after :meth:`check`); return the first epoch left to train."""
        _, live = layer_to_state(run.net, "network.")
        stored = layer_to_state(self.net, "network.")[1]
        for name, A in live.items():
            np.copyto(A, stored[name])
        run.optimizer.load_state_dict(self.optimizer, run.net)
        if self.schedule is not None:
            run.optimizer.schedule.load_state_dict(self.schedule)
        rng.bit_generator.state = self.rng["now"]
        set_layer_rng_states(run.net, self.layer_rngs)
        history = run.history
        history.history = {k: list(v) for k, v in self.history.history.items()}
        history.epochs = list(self.history.epochs)
        history.stopped_epoch = self.history.stopped_epoch
        if self.stopped:
            if self.epoch < epochs:
                history.stopped_epoch = self.epoch
            return epochs + 1
        return self.epoch + 1

    def __repr__(self) -> str:
        return f"Checkpoint(epoch={self.epoch}, optimizer={self.optimizer['class']})"


register_kind("TrainingCheckpoint", Checkpoint)


def open_checkpoints(resume, checkpoint, rng: np.random.Generator) -> Checkpoint | None:
    """``fit``'s first check: the checkpoint to resume from (:func:`read_checkpoint`;
    None without ``resume``), and a folder to write ``checkpoint`` into, before training
    rather than after it."""
    if checkpoint is not None:
        folder = Path(os.fspath(checkpoint)).parent
        if not folder.is_dir():
            raise FileNotFoundError(
                f"fit: checkpoint={os.fspath(checkpoint)!r}: the folder {str(folder)!r} does "
                "not exist; create it first, e.g. Path(...).mkdir(parents=True)."
            )
    return None if resume is None else read_checkpoint(resume, rng)


def read_checkpoint(path: str | os.PathLike, rng: np.random.Generator) -> Checkpoint:
    """The checkpoint at ``path`` (a ModelFileError if it is not a valid one), with
    ``rng`` set to the state its run started from (so the validation split is the same)."""
    checkpoint = load(path)
    if not isinstance(checkpoint, Checkpoint):
        raise ValueError(
            f"fit: resume={os.fspath(path)!r} holds a {type(checkpoint).__name__}, not a "
            "training checkpoint (written by fit(..., checkpoint=path))."
        )
    start = checkpoint.rng["start"]
    if start["bit_generator"] != type(rng.bit_generator).__name__:
        raise ValueError(
            f"fit: resume: the checkpointed run drew from a {start['bit_generator']} "
            f"generator, this one from {type(rng.bit_generator).__name__}."
        )
    rng.bit_generator.state = start
    return checkpoint


def write_checkpoint(path, run, data, callbacks, rng, rng_start: dict, stopped: bool) -> None:
    """Write the run's checkpoint to ``path`` (atomically, see :func:`chainrule.save`)."""
    save(Checkpoint.of_run(run, data, callbacks, rng, rng_start, stopped), path)


# ----------------------------------------------------------------------------- helpers
def _json(value):
    """``value`` after a trip through JSON (tuples become lists), for comparisons."""
    return json.loads(json.dumps(value))


def generator_state(state):
    """A bit generator's state as JSON values (its arrays as lists of ints)."""
    if isinstance(state, dict):
        return {k: generator_state(v) for k, v in state.items()}
    if isinstance(state, np.ndarray):
        return state.tolist()
    if isinstance(state, np.integer):
        return int(state)
    return state


def check_generator_state(state) -> None:
    """A stored generator state that NumPy accepts, for one of its bit generators."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise ValueError(
            f"a stored random generator state must name one of {list(_BIT_GENERATORS)}, got "
            f"{name!r:.40}."
        )
    try:
        getattr(np.random, name)(0).state = state
    except (TypeError, ValueError, KeyError, OverflowError, IndexError) as exc:
        raise ValueError(f"a stored {name} generator state is invalid ({exc}).") from None


def layer_rng_states(net: Layer) -> list[dict]:
    """The states of the layers' own generators (``Dropout``'s ``rng``), as JSON values."""
    return [generator_state(generator.bit_generator.state) for generator in _layer_generators(net)]


def set_layer_rng_states(net: Layer, states) -> None:
    """Set the layers' generators to ``states`` (from :func:`layer_rng_states`), each
    checked first (ValueError): one per generator, of its bit generator's kind."""
    generators = _layer_generators(net)
    if not isinstance(states, list) or len(states) != len(generators):
        raise ValueError(
            f"the stored generator states must be a list of one per Dropout layer "
            f"({len(generators)}), got {type(states).__name__} of "
            f"{len(states) if isinstance(states, list) else '?'}."
        )
    for generator, state in zip(generators, states, strict=True):
        check_generator_state(state)
        if state["bit_generator"] != type(generator.bit_generator).__name__:
            raise ValueError(
                f"a stored generator state is for {state['bit_generator']}, but the layer "
                f"draws from {type(generator.bit_generator).__name__}."
            )
    for generator, state in zip(generators, states, strict=True):
        generator.bit_generator.state = state


def _layer_generators(net: Layer) -> list[np.random.Generator]:
    """The layers' own generators (``Dropout``'s ``rng``), in the order of the layers."""
    found = []
    rng = getattr(net, "rng", None)
    if isinstance(rng, np.random.Generator):
        found.append(rng)
    for inner in getattr(net, "layers", ()):
        found += _layer_generators(inner)
    return found


def _data_identity(data) -> dict:
    """Sizes and a digest of the data after the split (dense or sparse arrays)."""
    digest = hashlib.blake2b(digest_size=16)
    for A in (data.X, data.y, data.w, data.X_val, data.y_val, data.w_val):
        parts = (
            [] if A is None else [A] if isinstance(A, np.ndarray) else [A.data, A.indices, A.indptr]
        )
        for part in parts:
            part = np.ascontiguousarray(part)
            digest.update(f"{part.dtype.str}{part.shape}".encode())
            digest.update(part.data)
        digest.update(b"|")
    n_val = 0 if data.X_val is None else int(data.X_val.shape[0])
    return {
        "n_train": int(data.n),
        "n_val": n_val,
        "batch_size": int(data.batch_size),
        "digest": digest.hexdigest(),
    }


def _same_class_and_config(obj, state: dict, what: str) -> None:
    found = (type(obj).__name__, _json(obj.get_config()))
    stored = (state.get("class"), state.get("config"))
    if found != stored:
        raise ValueError(
            f"fit: resume: the {what} is {found[0]} with {found[1]}, but the checkpointed run's "
            f"was {stored[0]} with {stored[1]}; build it the same way."
        )


def _check_with_class(state, classes: dict, what: str, load_into) -> None:
    """Build the stored object of a known class from its config and load ``state`` into
    it (which checks every value); a class chainrule does not know is checked on resume."""
    if not isinstance(state, dict) or not isinstance(state.get("config"), dict):
        raise ValueError(f"the checkpoint's {what} state must be an object with a 'config'.")
    cls = classes.get(state.get("class"))
    if cls is not None:
        load_into(cls(**state["config"]))


def _callbacks_from_state(stored, arrays, net) -> list:
    if not isinstance(stored, list):
        raise ValueError("the checkpoint's 'callbacks' must be a list.")
    callbacks = []
    for j, entry in enumerate(stored):
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            raise ValueError(f"callback {j} must be stored as [class name, state].")
        state = join_state(entry[1], arrays, f"callbacks.{j}.")
        if entry[0] in _CALLBACKS:
            _check_with_class(
                state, _CALLBACKS, f"callback {j}", lambda c, s=state: c.load_state_dict(s, net)
            )
        callbacks.append((entry[0], state))
    return callbacks


def history_to_state(history: History) -> tuple[dict, dict[str, np.ndarray]]:
    keys = list(history.history)
    arrays = {"history.epochs": np.asarray(history.epochs, dtype=np.int64)}
    for k, key in enumerate(keys):
        arrays[f"history.{k}"] = np.asarray(history.history[key], dtype=np.float64)
    spec = {"keys": keys, "params": history.params, "stopped_epoch": history.stopped_epoch}
    return spec, arrays


def history_from_state(spec, arrays) -> History:
    owner = "checkpoint history"
    check_state_keys(spec, ("keys", "params", "stopped_epoch"), owner, ("keys", "params"))
    keys, params = spec["keys"], spec["params"]
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ValueError(f"{owner}: 'keys' must be a list of names.")
    if not isinstance(params, dict):
        raise ValueError(f"{owner}: 'params' must be an object.")
    epochs = arrays.get("history.epochs")
    if not isinstance(epochs, np.ndarray) or epochs.dtype != np.int64 or epochs.ndim != 1:
        raise ValueError(f"{owner}: 'history.epochs' must be a 1-D int64 array.")
    if epochs.size and not (epochs[0] >= 1 and (np.diff(epochs) == 1).all()):
        raise ValueError(f"{owner}: the epochs must count 1, 2, 3, ...")
    expected = {"history.epochs", *(f"history.{k}" for k in range(len(keys)))}
    if {name for name in arrays if name.startswith("history.")} != expected:
        raise ValueError(f"{owner}: the arrays 'history.*' must be one per logged value.")
    history = History(params)
    history.epochs = epochs.tolist()
    for k, key in enumerate(keys):
        column = arrays.get(f"history.{k}")
        if not isinstance(column, np.ndarray) or column.shape != epochs.shape:
            raise ValueError(f"{owner}: 'history.{k}' must hold one value per epoch.")
        if column.dtype != np.float64:
            raise ValueError(f"{owner}: 'history.{k}' must be float64.")
        history.history[key] = column.tolist()
    history.stopped_epoch = state_count(spec, "stopped_epoch", owner, low=1, optional=True)
    return history
