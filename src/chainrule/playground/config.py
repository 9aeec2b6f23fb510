"""The page's state as one serialisable object, its checks, and the network it describes.

The page sends the whole configuration on every change; :func:`clean_config` checks it
and returns the canonical version (the page then keeps that one), and
:func:`build_network` turns it into a chainrule network and loss.

Output and loss are chosen separately, so that a mismatched pair can be tried:

=========  ===============  ==========================================================
output     loss             network and loss built
=========  ===============  ==========================================================
softmax    cross_entropy    ... -> Dense(k)             CrossEntropy() (softmax fused)
sigmoid    bce              ... -> Dense(1 or k)        BinaryCrossEntropy() (fused)
linear     any              ... -> Dense                the loss on the raw outputs
softmax    bce or mse       ... -> Dense -> Softmax     the loss: chainrule warns
sigmoid    cross_entropy    ... -> Dense -> Sigmoid     or mse: chainrule warns
=========  ===============  ==========================================================

A mismatched pair trains anyway (it is a lesson), and ``check_pairing``'s warning is
shown on the page.
"""

from __future__ import annotations

import copy
import math
import warnings

from ..layers import build_mlp, get_activation
from ..losses import get_loss
from ..optimizers import get_optimizer
from .data import INPUTS, MAX_POINTS, TOY_SETS

#: the hidden activations the page offers: name -> class name, a view of the one
#: registry (chainrule.layers.ACTIVATIONS); static/app.js lists the same names
ACTIVATIONS = {
    name: get_activation(name).__name__
    for name in ("relu", "tanh", "sigmoid", "leaky_relu", "elu", "linear")
}
OUTPUTS = ("softmax", "sigmoid", "linear")
#: the losses the page offers, by their names in chainrule.losses.LOSSES
LOSSES = ("cross_entropy", "bce", "mse")
#: the page's optimizers: name -> (name in chainrule.optimizers.OPTIMIZERS, settings)
OPTIMIZER_SPECS = {
    "sgd": ("sgd", {}),
    "momentum": ("sgd", {"momentum": 0.9}),
    "adam": ("adam", {}),
    "rmsprop": ("rmsprop", {}),
}
OPTIMIZERS = tuple(OPTIMIZER_SPECS)
MAX_LAYERS = 6
MAX_NEURONS = 16
MAX_STEPS_PER_TICK = 200

DEFAULT_CONFIG = {
    "data": {
        "name": "circles",
        "noise": 0.1,
        "train_ratio": 0.5,
        "n_points": 400,
        "seed": 0,
        "features": "pca",
        "inputs": ["x1", "x2"],
    },
    "network": {
        "hidden": [4, 4],
        "activations": ["tanh", "tanh"],
        "output": "sigmoid",
        "loss": "bce",
        "optimizer": "adam",
        "lr": 0.03,
        "batch_size": 10,
        "l2": 0.0,
        "l1": 0.0,
        "dropout": 0.0,
        "seed": 0,
    },
}


class ConfigError(ValueError):
    """A setting from the page that cannot be used; the message names it and the fix."""


def _number(section: dict, key: str, lo: float, hi: float, integer: bool = False):
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key} must be a number, got {value!r}.")
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ConfigError(f"{key} must lie between {lo:g} and {hi:g}, got {value!r}.")
    if integer:
        if value != int(value):
            raise ConfigError(f"{key} must be a whole number, got {value!r}.")
        return int(value)
    return float(value)


def _choice(section: dict, key: str, options) -> str:
    value = section.get(key)
    if value not in options:
        raise ConfigError(f"unknown {key} {value!r}; choose one of {', '.join(options)}.")
    return value


def clean_config(config, tables=()) -> dict:
    """Check a configuration from the page; return the canonical copy.

    Parameters
    ----------
    config : dict
        ``{"data": {...}, "network": {...}}``; missing keys take ``DEFAULT_CONFIG``'s.
    tables : collection of str
        Names of the tables this session may use besides the toy sets ("file" for the
        ``--data`` of the command, "upload" for a CSV sent from the page).

    Raises
    ------
    ConfigError
    """
    if not isinstance(config, dict):
        raise ConfigError("the configuration must be a JSON object.")
    out = copy.deepcopy(DEFAULT_CONFIG)
    for part in ("data", "network"):
        given = config.get(part, {})
        if not isinstance(given, dict):
            raise ConfigError(f"'{part}' must be a JSON object.")
        out[part].update(given)
    d, n = out["data"], out["network"]
    d["name"] = _choice(d, "name", [*TOY_SETS, *tables])
    d["noise"] = _number(d, "noise", 0.0, 1.0)
    d["train_ratio"] = _number(d, "train_ratio", 0.1, 0.9)
    d["n_points"] = _number(d, "n_points", 20, MAX_POINTS, integer=True)
    d["seed"] = _number(d, "seed", 0, 2**31 - 1, integer=True)
    if d["features"] != "pca" and not (
        isinstance(d["features"], list) and all(isinstance(f, str) for f in d["features"])
    ):
        raise ConfigError('features must be "pca" or a list of two column names.')
    inputs = d["inputs"]
    if not isinstance(inputs, list) or not inputs or any(x not in INPUTS for x in inputs):
        raise ConfigError(
            f"inputs must be a list of at least one of {', '.join(INPUTS)}; got {inputs!r}."
        )

    hidden, acts = n["hidden"], n["activations"]
    if not isinstance(hidden, list) or not isinstance(acts, list) or len(hidden) != len(acts):
        raise ConfigError("hidden and activations must be lists of the same length.")
    if len(hidden) > MAX_LAYERS:
        raise ConfigError(f"at most {MAX_LAYERS} hidden layers, got {len(hidden)}.")
    for i, (h, a) in enumerate(zip(hidden, acts, strict=True)):
        if isinstance(h, bool) or not isinstance(h, int) or not 1 <= h <= MAX_NEURONS:
            raise ConfigError(
                f"hidden layer {i + 1} must have 1 to {MAX_NEURONS} neurons, got {h!r}."
            )
        try:
            get_activation(a, ACTIVATIONS)
        except ValueError as exc:
            raise ConfigError(f"hidden layer {i + 1}: {exc}") from None
    n["output"] = _choice(n, "output", OUTPUTS)
    n["loss"] = _choice(n, "loss", LOSSES)
    n["optimizer"] = _choice(n, "optimizer", OPTIMIZERS)
    n["lr"] = _number(n, "lr", 1e-6, 10.0)
    n["batch_size"] = _number(n, "batch_size", 1, MAX_POINTS, integer=True)
    n["l2"] = _number(n, "l2", 0.0, 1.0)
    n["l1"] = _number(n, "l1", 0.0, 1.0)
    n["dropout"] = _number(n, "dropout", 0.0, 0.9)
    n["seed"] = _number(n, "seed", 0, 2**31 - 1, integer=True)
    return out


def output_width(net_config: dict, task: str, n_classes: int) -> int:
    """Number of output units: 1 for regression and for a binary sigmoid/linear output."""
    if task == "regression":
        return 1
    if net_config["loss"] == "cross_entropy" or net_config["output"] == "softmax":
        return n_classes
    return 1 if n_classes == 2 else n_classes


def check_task(net_config: dict, task: str) -> None:
    """Refuse a loss or output that cannot fit the task."""
    if task == "regression" and net_config["loss"] != "mse":
        raise ConfigError(
            f"{net_config['loss']} needs class labels, but this data set is a regression; "
            "choose the mse loss (with a linear output)."
        )
    if task == "regression" and net_config["output"] == "softmax":
        raise ConfigError(
            "a softmax output of one unit is always 1; for regression choose a linear output."
        )


def build_network(net_config: dict, n_in: int, n_out: int):
    """The chainrule network and loss the configuration describes.

    Returns
    -------
    net : chainrule.Sequential
    loss : chainrule.Loss
    warning : str or None
        ``check_pairing``'s reason when the output and the loss are mismatched.
    """
    from chainrule.sanity import check_pairing

    net = build_mlp(**mlp_spec(net_config, n_in, n_out))
    loss = get_loss(net_config["loss"])
    with warnings.catch_warnings():  # the page shows the reason instead of a warning
        warnings.simplefilter("ignore")
        reason = check_pairing(net, loss)
    return net, loss, reason


def mlp_spec(net_config: dict, n_in: int, n_out: int) -> dict:
    """``build_mlp``'s arguments for the configuration (the exported snippet writes them).

    The output layer is a separate Softmax or Sigmoid only when the loss does not fuse
    it (a mismatched pair, a lesson); otherwise the output stays linear.
    """
    out, loss_name = net_config["output"], net_config["loss"]
    fused = {"softmax": "cross_entropy", "sigmoid": "bce"}
    return {
        "sizes": [n_in, *net_config["hidden"], n_out],
        "activation": list(net_config["activations"]),
        "output": out if out in fused and fused[out] != loss_name else None,
        "dropout": net_config["dropout"],
        "rng": net_config["seed"],
    }


def build_optimizer(net_config: dict):
    """The optimizer the configuration names, with its learning rate."""
    name, settings = OPTIMIZER_SPECS[net_config["optimizer"]]
    return get_optimizer(name, lr=net_config["lr"], **settings)
