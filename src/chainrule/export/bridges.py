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

The leaky and exponential units are written out in ONNX because onnxruntime has no
float64 kernel for ``LeakyRelu``/``Elu``. torch and onnx are imported on first use: they
are optional extras (``pip install -e ".[torch]"``, ``".[onnx]"``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._checks import new_file_beside
from ..layers import (
    ELU,
    GELU,
    BatchNorm,
    Dense,
    Dropout,
    Identity,
    LayerNorm,
    LeakyReLU,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from ..layers.base import Layer


class ExportError(ValueError):
    """A model, or a part of it, that the other engine cannot take as it is."""


def _require(module: str, extra: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"this needs {module}, which is not installed; install it with "
            f'pip install -e ".[{extra}]" (or pip install {extra}).'
        ) from exc


# ----------------------------------------------------------------- what a model holds
def network_and_head(model) -> tuple[Sequential, str | None]:
    """The network of ``model`` and the output activation applied after it.

    A ``Sequential`` is its own network with no head. A fitted estimator's ``network_``
    outputs logits (the loss fuses the output activation); its head is
    ``out_activation_`` (``"softmax"``, ``"logistic"``, ``"identity"`` or ``"exp"``),
    so network + head computes ``predict_proba`` (or ``predict`` for a regressor).
    A ``ModelBundle`` (what ``chainrule train`` saves) gives its estimator's.
    """
    if isinstance(model, Sequential):
        return model, None
    if hasattr(model, "estimator") and hasattr(model, "preprocessor"):  # a ModelBundle
        return network_and_head(model.estimator)
    if hasattr(model, "out_activation_") and hasattr(model, "network_"):
        return model.network_, model.out_activation_
    if hasattr(model, "get_params"):
        raise ExportError(
            f"this {type(model).__name__} is not fitted yet; call fit(X, y) before exporting."
        )
    if isinstance(model, Layer):
        return Sequential(model), None
    raise ExportError(
        f"cannot export a {type(model).__name__}: pass a chainrule Sequential (or layer), "
        "a fitted MLPClassifier/MLPRegressor, or a model that chainrule.load returned."
    )


def _flat_layers(net: Sequential) -> list[Layer]:
    out = []
    for layer in net.layers:
        out.extend(_flat_layers(layer) if isinstance(layer, Sequential) else [layer])
    return out


def _n_features(net: Sequential) -> int:
    for layer in _flat_layers(net):
        if isinstance(layer, Dense):
            return layer.n_in
        if isinstance(layer, (BatchNorm, LayerNorm)):
            return layer.n_features
        if layer.n_params:
            break
    raise ExportError(
        "cannot tell the number of input features: the network should start with a Dense "
        "or normalisation layer (activations before it are fine)."
    )


def _dtype(net: Sequential) -> np.dtype:
    return np.dtype(net.dtype or np.float64)


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
    torch = _require("torch", "torch")
    net, head = network_and_head(model)
    dtype = torch.float32 if _dtype(net) == np.float32 else torch.float64
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
    nn = torch.nn
    if isinstance(layer, Sequential):
        return nn.Sequential(*(_torch_module(inner, torch, dtype) for inner in layer.layers))
    if isinstance(layer, Dense):
        linear = nn.Linear(layer.n_in, layer.n_out, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer.params["W"].T)))
            linear.bias.copy_(torch.from_numpy(layer.params["b"]))
        return linear
    simple = {Identity: nn.Identity, ReLU: nn.ReLU, Tanh: nn.Tanh, Sigmoid: nn.Sigmoid}
    if type(layer) in simple:
        return simple[type(layer)]()
    if isinstance(layer, GELU):
        return nn.GELU()
    if isinstance(layer, Softplus):
        return nn.Softplus(beta=1.0, threshold=layer.threshold)
    if isinstance(layer, LeakyReLU):
        return nn.LeakyReLU(negative_slope=layer.alpha)
    if isinstance(layer, ELU):
        return nn.ELU(alpha=layer.alpha)
    if isinstance(layer, Softmax):
        return nn.Softmax(dim=1)
    if isinstance(layer, Dropout):
        return nn.Dropout(p=layer.p)
    if isinstance(layer, (BatchNorm, LayerNorm)):
        return _torch_norm(layer, nn, torch, dtype)
    raise ExportError(f"to_torch: no PyTorch module for chainrule's {type(layer).__name__}.")


def _torch_norm(layer, nn, torch, dtype):
    """BatchNorm1d (running statistics in its buffers) or LayerNorm, same gamma and beta."""
    if isinstance(layer, BatchNorm):
        m = nn.BatchNorm1d(layer.n_features, eps=layer.eps, momentum=layer.momentum,
                           affine=layer.affine, dtype=dtype)  # fmt: skip
        with torch.no_grad():
            m.running_mean.copy_(torch.from_numpy(layer.buffers["running_mean"]))
            m.running_var.copy_(torch.from_numpy(layer.buffers["running_var"]))
    else:
        m = nn.LayerNorm(layer.n_features, eps=layer.eps, elementwise_affine=layer.affine,
                         dtype=dtype)  # fmt: skip
    if layer.affine:
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(layer.params["gamma"]))
            m.bias.copy_(torch.from_numpy(layer.params["beta"]))
    return m


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

    Raises
    ------
    ExportError
        Naming each unsupported module by its position and type.
    """
    torch = _require("torch", "torch")
    problems: list[str] = []
    layers = _from_torch_children(module, torch, "", problems)
    if problems:
        raise ExportError(
            "from_torch: cannot convert " + "; ".join(problems) + ". Supported modules: "
            "Linear, ReLU, Tanh, Sigmoid, LeakyReLU, ELU, GELU(), Softplus(), Softmax(dim=1), "
            "Identity, "
            "Dropout, BatchNorm1d, LayerNorm and nested Sequential."
        )
    return Sequential(*layers)


def _from_torch_children(module, torch, where: str, problems: list[str]) -> list[Layer]:
    if isinstance(module, torch.nn.Sequential):
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
    nn = torch.nn
    if isinstance(m, nn.Linear):
        if m.weight.dtype not in (torch.float32, torch.float64):
            problems.append(f"module {where} (Linear in {m.weight.dtype}: use float32/64)")
            return None
        W = m.weight.detach().cpu().numpy().T
        dense = Dense(m.in_features, m.out_features, init="zeros", dtype=W.dtype)
        dense.params["W"][...] = W
        if m.bias is not None:
            dense.params["b"][...] = m.bias.detach().cpu().numpy()
        return dense
    if isinstance(m, nn.Softmax) and m.dim in (1, -1):
        return Softmax()
    simple = {nn.Identity: Identity, nn.ReLU: ReLU, nn.Tanh: Tanh, nn.Sigmoid: Sigmoid}
    if type(m) in simple:
        return simple[type(m)]()
    if isinstance(m, nn.GELU) and m.approximate == "none":
        return GELU()
    if isinstance(m, nn.Softplus) and m.beta == 1 and m.threshold == Softplus.threshold:
        return Softplus()
    if isinstance(m, nn.LeakyReLU):
        return LeakyReLU(alpha=m.negative_slope)
    if isinstance(m, nn.ELU):
        return ELU(alpha=m.alpha)
    if isinstance(m, nn.Dropout):
        return Dropout(m.p)
    if isinstance(m, (nn.BatchNorm1d, nn.LayerNorm)):
        return _from_torch_norm(m, nn, where, problems)
    detail = {
        nn.Softmax: lambda: f" with dim={m.dim}",
        nn.GELU: lambda: f" with approximate={m.approximate!r}",
        nn.Softplus: lambda: f" with beta={m.beta:g}, threshold={m.threshold:g}",
    }.get(type(m), lambda: "")()
    problems.append(f"module {where} ({type(m).__name__}{detail})")
    return None


def _from_torch_norm(m, nn, where: str, problems: list[str]) -> Layer | None:
    if isinstance(m, nn.BatchNorm1d):
        if not m.track_running_stats or m.momentum is None:
            problems.append(
                f"module {where} (BatchNorm1d without running statistics or with "
                "momentum=None: chainrule's BatchNorm keeps an exponential average)"
            )
            return None  # fmt: skip
        affine, n, dtype = m.affine, m.num_features, m.running_mean.dtype
        layer = BatchNorm(n, momentum=m.momentum, eps=m.eps, affine=affine,
                          dtype=_numpy_dtype(dtype))  # fmt: skip
        layer.buffers["running_mean"][...] = m.running_mean.detach().cpu().numpy()
        layer.buffers["running_var"][...] = m.running_var.detach().cpu().numpy()
    else:
        shape, affine = tuple(m.normalized_shape), m.elementwise_affine
        if len(shape) != 1 or (affine and m.bias is None):
            problems.append(
                f"module {where} (LayerNorm over {shape}: chainrule's normalises "
                "the last dimension, with gamma and beta)"
            )
            return None  # fmt: skip
        dtype = m.weight.dtype if affine else None
        layer = LayerNorm(shape[0], eps=m.eps, affine=affine, dtype=_numpy_dtype(dtype))
    if affine:
        layer.params["gamma"][...] = m.weight.detach().cpu().numpy()
        layer.params["beta"][...] = m.bias.detach().cpu().numpy()
    return layer


def _numpy_dtype(torch_dtype) -> type:
    return np.float32 if str(torch_dtype) == "torch.float32" else np.float64


# -------------------------------------------------------------------------- ONNX
ONNX_OPSET = 19  # Equal on strings (one-hot encoding in the graph) needs 19


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
        encoded) and, for regression, the target's scaling.
    path : str or PathLike
        Where to write (``.onnx`` is appended if missing); written atomically.

    Notes
    -----
    The graph is in the model's precision (float32 or float64) and is checked by
    ``onnx.checker.check_model(full_check=True)`` before it is written. Dropout
    layers are left out (inference).
    """
    onnx = _require("onnx", "onnx")
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


def register_skl2onnx() -> None:
    """Teach skl2onnx to convert chainrule's estimators, alone or inside a ``Pipeline``.

    chainrule's ``MLPClassifier``/``MLPRegressor`` carry scikit-learn's fitted
    attributes (``coefs_``, ``intercepts_``, ``activation``, ``out_activation_``,
    ``classes_``), so skl2onnx's own MLP converters apply to them unchanged; this
    registers them for chainrule's classes. Afterwards
    ``skl2onnx.to_onnx(pipeline, X[:1])`` works on a pipeline holding one.
    """
    skl2onnx = _require("skl2onnx", "onnx")
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
        _require("onnx" if to == "onnx" else "torch", to)
    except ImportError as exc:
        raise ExportError(str(exc)) from None
    model = load(model_path)
    suffix = ".onnx" if to == "onnx" else ".pt2"
    out = Path(out) if out is not None else Path(model_path).with_suffix(suffix)
    if out.resolve() == Path(model_path).resolve():
        raise ExportError(f"--out {out} is the model file itself; name another file")
    if to == "onnx":
        return to_onnx(model, out), []
    torch = _require("torch", "torch")
    module = to_torch(model)
    net, _ = network_and_head(model)
    dtype = torch.float32 if _dtype(net) == np.float32 else torch.float64
    example = (torch.zeros(2, _n_features(net), dtype=dtype),)
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
    return out, notes
