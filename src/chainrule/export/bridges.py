"""Hand a model to another engine: PyTorch (``to_torch``, ``from_torch``) and ONNX
(``to_onnx``).

chainrule trains on one machine; to serve a model, keep training it on a cluster, or
inspect a PyTorch model with :func:`chainrule.explain`, it hands off to the engines that
exist. Nothing here is a new engine: each function maps chainrule's layers one to one
onto the other library's modules or operators, and the tests check that both compute
the same numbers (1e-12 in float64, 1e-6 in float32).

::

    chainrule            PyTorch                       ONNX
    Dense(n_in, n_out)   Linear(n_in, n_out)           Gemm(X, W, b)
                         weight = W.T (n_out, n_in)    W as stored (n_in, n_out)
    ReLU, Tanh, Sigmoid  ReLU, Tanh, Sigmoid           Relu, Tanh, Sigmoid
    LeakyReLU(alpha)     LeakyReLU(negative_slope)     Where(X > 0, X, alpha * X)
    ELU(alpha)           ELU(alpha)                    Where(X > 0, X, alpha * (exp(X) - 1))
    Softmax              Softmax(dim=1)                Softmax(axis=1)
    Identity             Identity                      Identity
    GELU                 GELU() (exact erf form)       X * (1 + Erf(X / sqrt 2)) / 2  (float32)
    Softplus             Softplus(beta=1, threshold=20) Where(X > 20, X, log(1 + exp(X)))
    Dropout(p)           Dropout(p)                    (nothing: inference)
    BatchNorm            BatchNorm1d (running stats)   (X - mean) / sqrt(var + eps) * gamma + beta
    LayerNorm            LayerNorm(n_features)         the same with ReduceMean over each row

The table lives in code once per target: ``_torch.TORCH_MODULES`` (layer class <->
module, both directions, with how parameters and buffers are copied) and
``_onnx_graph.ONNX_BUILDERS`` (layer class -> the operators it appends); a layer class
missing from one is refused with an ExportError that names it.

The leaky and exponential units are written out in ONNX because onnxruntime has no
float64 kernel for ``LeakyRelu``/``Elu``. torch and onnx are imported on first use: they
are optional extras (``pip install -e ".[torch]"``, ``".[onnx]"``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._checks import new_file_beside
from ..layers import Sequential
from ..layers.base import Layer
from ._model import (
    ONNX_OPSET,
    ExportError,
    lookup,
    model_dtype,
    n_features,
    network_and_head,
    require,
)
from ._torch import TORCH_MODULES, layer_class_of, unknown_behaviour

__all__ = [
    "ONNX_OPSET",
    "ExportError",
    "export_file",
    "from_torch",
    "network_and_head",
    "register_skl2onnx",
    "to_onnx",
    "to_torch",
]


# ----------------------------------------------------------------------- PyTorch
def to_torch(model):
    """A ``torch.nn.Sequential`` that computes what ``model`` computes.

    Parameters
    ----------
    model : Sequential, Layer, fitted MLPClassifier/MLPRegressor or ModelBundle
        For an estimator the module ends with its output activation, so it returns
        ``predict_proba`` for a multiclass classifier, the positive-class probability
        (n, 1) for a binary one, and ``predict`` (n, n_outputs) for a regressor. A
        bundle's preprocessing and target scaling are *not* in the module (apply
        ``bundle.transform`` first); ``chainrule export --to onnx`` includes them.

    Returns
    -------
    torch.nn.Sequential
        In the model's precision (float32 or float64), in evaluation mode, holding
        copies of the arrays: ``Linear.weight`` is ``W.T`` of shape (n_out, n_in).
    """
    torch = require("torch", "torch")
    net, head = network_and_head(model)
    dtype = torch.float32 if model_dtype(net) == np.float32 else torch.float64
    modules = [_torch_module(layer, torch, dtype) for layer in net.layers]
    if head not in (None, "identity"):
        heads = {"softmax": lambda: torch.nn.Softmax(dim=1), "logistic": torch.nn.Sigmoid}
        if head not in heads:
            raise ExportError(
                f"the output activation {head!r} has no torch.nn module; export "
                "model.network_ instead and apply it yourself (torch.exp for 'exp')."
            )
        modules.append(heads[head]())
    return torch.nn.Sequential(*modules).eval()


def _torch_module(layer: Layer, torch, dtype):
    """The module of one layer, from the PyTorch table (``_torch.TORCH_MODULES``)."""
    if isinstance(layer, Sequential):
        modules = (_torch_module(inner, torch, dtype) for inner in layer.layers)
        return torch.nn.Sequential(*modules)
    return lookup(TORCH_MODULES, layer, "to_torch").to_torch(layer, torch, dtype)


def from_torch(module) -> Sequential:
    """A chainrule ``Sequential`` with the layers and weights of a PyTorch module.

    So a student can run :func:`chainrule.explain` on one training step of their own
    PyTorch model and see every number. Nested ``nn.Sequential`` stay nested.

    Parameters
    ----------
    module : torch.nn.Sequential or a single supported module
        Supported: ``Linear`` (with or without bias; without, chainrule's ``b`` starts
        at zero and is trainable), ``ReLU``, ``Tanh``, ``Sigmoid``, ``LeakyReLU``,
        ``ELU``, ``GELU()`` (exact), ``Softplus()`` (beta 1, threshold 20),
        ``Softmax(dim=1 or -1)``, ``Identity``, ``Dropout``, ``BatchNorm1d``
        (with running statistics and a momentum), ``LayerNorm`` over the last dimension
        (without its optional bias=False). Parameters must be
        float32 or float64 (the chainrule network keeps that precision).

        Each module is one of these classes, or a subclass that keeps its ``forward``
        and has no forward hooks: a subclass with its own ``forward`` (a residual
        connection, say) computes something chainrule cannot know, and is refused.

    Raises
    ------
    ExportError
        Naming each unsupported module by its position and type: an unknown class, a
        subclass overriding ``forward``, a module with hooks or on the meta device.
    """
    torch = require("torch", "torch")
    problems: list[str] = []
    layers = _from_torch_children(module, torch, "", problems)
    if problems:
        supported = ", ".join(pair.module for pair in TORCH_MODULES.values())
        raise ExportError(
            f"from_torch: cannot convert {'; '.join(problems)}. Supported modules: "
            f"{supported} and nested Sequential (see from_torch's docstring for the options)."
        )
    return Sequential(*layers)


def _from_torch_children(module, torch, where: str, problems: list[str]) -> list[Layer]:
    if isinstance(module, torch.nn.Sequential):
        odd = unknown_behaviour(module, torch.nn.Sequential)
        if odd:
            problems.append(f"module {where or 'itself'} ({type(module).__name__}{odd})")
            return []
        layers = []
        for name, child in module.named_children():
            path = f"{where}.{name}" if where else name
            if isinstance(child, torch.nn.Sequential):
                inner = _from_torch_children(child, torch, path, problems)
                layers.append(Sequential(*inner))
            else:
                layers.extend(_from_torch_children(child, torch, path, problems))
        return layers
    layer = _from_torch_module(module, torch, where or "0", problems)
    return [] if layer is None else [layer]


def _from_torch_module(m, torch, where: str, problems: list[str]) -> Layer | None:
    """The layer of one module, from the PyTorch table; None (and a problem noted,
    naming the module by position and type) when chainrule has no layer for it."""
    layer_class = layer_class_of(m, torch)
    if layer_class is None:
        layer = ""
    else:
        pair = TORCH_MODULES[layer_class]
        layer = unknown_behaviour(m, getattr(torch.nn, pair.module)) or pair.from_torch(m)
    if isinstance(layer, str):
        problems.append(f"module {where} ({type(m).__name__}{layer})")
        return None
    return layer


# -------------------------------------------------------------------------- ONNX
def to_onnx(model, path: str | os.PathLike) -> Path:
    """Write ``model`` as an ONNX graph (built with ``onnx.helper``) and return the path.

    Parameters
    ----------
    model : Sequential, fitted MLPClassifier/MLPRegressor or ModelBundle
        A ``Sequential`` gives one input ``X`` (n, n_features) and one output ``Y``.
        A classifier gives the outputs ``label`` (n,) and ``probabilities``
        (n, n_classes), named as skl2onnx names them with ``zipmap=False``; a
        regressor gives ``variable`` (n, n_outputs). A bundle adds its preprocessing
        (one input per feature column: numbers imputed and standardised, text one-hot
        encoded) and, for regression, the target's scaling; its regressor's output is
        named after the target, ``predicted_<target>`` (as ``chainrule predict``'s column).
    path : str or PathLike
        Where to write (``.onnx`` is appended if missing); written atomically.

    Notes
    -----
    The graph is in the model's precision (float32 or float64) and is checked by
    ``onnx.checker.check_model(full_check=True)`` before it is written. Dropout
    layers are left out (inference).
    """
    onnx = require("onnx", "onnx")
    from ._onnx_graph import model_proto

    proto = model_proto(model)
    onnx.checker.check_model(proto, full_check=True)
    path = Path(os.fspath(path))
    if path.suffix != ".onnx":
        path = path.with_name(path.name + ".onnx")
    _write_atomically(path, proto.SerializeToString())
    return path


def _write_atomically(path: Path, data: bytes) -> None:
    if str(path) in ("", ".onnx") or path.is_dir():
        raise ExportError(f"to_onnx: {str(path)!r} is not a file path; give e.g. 'model.onnx'.")
    tmp = new_file_beside(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _renamed_outputs(model) -> list[str]:
    """Notes on the outputs renamed because a feature column had their name."""
    from ._onnx_graph import build_graph

    renamed = build_graph(model).renamed
    return [
        f"a feature column is named {old!r}, so that output is named {new!r}"
        for old, new in renamed.items()
    ]


def register_skl2onnx() -> None:
    """Teach skl2onnx to convert chainrule's estimators, alone or inside a ``Pipeline``.

    chainrule's ``MLPClassifier``/``MLPRegressor`` carry scikit-learn's fitted
    attributes (``coefs_``, ``intercepts_``, ``activation``, ``out_activation_``,
    ``classes_``), so skl2onnx's own MLP converters apply to them unchanged; this
    registers them for chainrule's classes. Afterwards
    ``skl2onnx.to_onnx(pipeline, X[:1])`` works on a pipeline holding one.
    """
    skl2onnx = require("skl2onnx", "onnx")
    from skl2onnx.operator_converters.multilayer_perceptron import (
        convert_sklearn_mlp_classifier,
        convert_sklearn_mlp_regressor,
    )
    from skl2onnx.shape_calculators.linear_classifier import (
        calculate_linear_classifier_output_shapes,
    )
    from skl2onnx.shape_calculators.linear_regressor import (
        calculate_linear_regressor_output_shapes,
    )

    from ..estimators.mlp import MLPClassifier, MLPRegressor

    skl2onnx.update_registered_converter(
        MLPClassifier,
        "ChainruleMLPClassifier",
        calculate_linear_classifier_output_shapes,
        convert_sklearn_mlp_classifier,
        options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
    )
    skl2onnx.update_registered_converter(
        MLPRegressor,
        "ChainruleMLPRegressor",
        calculate_linear_regressor_output_shapes,
        convert_sklearn_mlp_regressor,
    )


def export_file(model_path: str | os.PathLike, to: str, out: str | os.PathLike | None = None):
    """What ``chainrule export`` does: convert a chainrule model file.

    Parameters
    ----------
    model_path : path of a file written by ``chainrule.save`` or ``chainrule train``
    to : {"onnx", "torch"}
        ``onnx``: :func:`to_onnx` (a bundle's preprocessing included). ``torch``: the
        module of :func:`to_torch`, written with ``torch.export.save`` as a ``.pt2``
        program (load it with ``torch.export.load(path).module()``; batch size free).
    out : path, optional
        Default: the model's path with the suffix ``.onnx`` or ``.pt2``.

    Returns
    -------
    (Path, list of str)
        Where it wrote, and notes on what the exported file leaves out.
    """
    from ..persistence.npz import load

    if to not in ("onnx", "torch"):
        raise ExportError(f"--to must be onnx or torch, got {to!r}")
    try:
        require("onnx" if to == "onnx" else "torch", to)
    except ImportError as exc:
        raise ExportError(str(exc)) from None
    model = load(model_path)
    suffix = ".onnx" if to == "onnx" else ".pt2"
    out = Path(out) if out is not None else Path(model_path).with_suffix(suffix)
    if out.resolve() == Path(model_path).resolve():
        raise ExportError(f"--out {out} is the model file itself; name another file")
    if to == "onnx":
        return to_onnx(model, out), _renamed_outputs(model)
    torch = require("torch", "torch")
    module = to_torch(model)
    net, _ = network_and_head(model)
    dtype = torch.float32 if model_dtype(net) == np.float32 else torch.float64
    example = (torch.zeros(2, n_features(net), dtype=dtype),)
    program = torch.export.export(module, example, dynamic_shapes=({0: torch.export.Dim("batch")},))
    tmp = new_file_beside(out, ".partial.pt2")  # torch.export.save wants a .pt2 name
    try:
        torch.export.save(program, tmp)
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    notes = []
    if hasattr(model, "preprocessor"):
        notes.append(
            "the module takes the preprocessed features (bundle.transform(frame)); the "
            "preprocessing"
            + (" and the target's scaling are" if model.target_scaler else " is")
            + " left out: export --to onnx to include them"
        )
    if getattr(model, "target_scaler", None) is not None:
        notes.append(_unscaling_note(model))
    return out, notes


def _unscaling_note(bundle) -> str:
    """How to turn the .pt2 module's output back into the target's units: it predicts
    the standardised target, ``y = output * scale + mean`` (the training rows' figures)."""
    scaler = bundle.target_scaler
    parts = [
        f"{name} = output[:, {j}] * {float(s)!r} + {float(m)!r}"
        for j, (name, s, m) in enumerate(zip(bundle.target, scaler.scale_, scaler.mean_,
                                             strict=True))
    ]  # fmt: skip
    return (
        "the module predicts the standardised target; in the target's units: "
        + "; ".join(parts)
        + " (the training rows' standard deviation and mean)"
    )
