"""The PyTorch mapping table: each chainrule layer class and its ``torch.nn`` module
(private; see :func:`chainrule.export.to_torch` and :func:`chainrule.export.from_torch`).

One entry per layer class holds both directions: the module's class name, how to build
the module from the layer (copying parameters and buffers) and how to build the layer
from the module. ``Sequential`` is not an entry: it maps onto ``nn.Sequential`` by its
structure. torch is never imported here; the functions receive its ``nn`` module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import layers
from ..layers.base import Layer


@dataclass(frozen=True)
class TorchPair:
    """How one chainrule layer class and one ``torch.nn`` module class map onto each other.

    ``to_torch(layer, torch, dtype)`` returns the module, holding copies of the layer's
    parameters and buffers; ``from_torch(module)`` returns the layer, or a string saying
    what of the module chainrule cannot hold (it completes "module 3 (GELU...)").
    """

    module: str  # the class name in torch.nn
    to_torch: Callable
    from_torch: Callable[[object], Layer | str]


def _copy(torch, target, array) -> None:
    with torch.no_grad():
        target.copy_(torch.from_numpy(np.ascontiguousarray(array)))


def _numpy(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def _numpy_dtype(torch_dtype) -> type:
    return np.float32 if str(torch_dtype) == "torch.float32" else np.float64


def _linear_to(layer: layers.Dense, torch, dtype):
    """``Linear.weight`` is W.T, of shape (n_out, n_in); ``bias`` is b."""
    linear = torch.nn.Linear(layer.n_in, layer.n_out, dtype=dtype)
    _copy(torch, linear.weight, layer.params["W"].T)
    _copy(torch, linear.bias, layer.params["b"])
    return linear


def _linear_from(m) -> layers.Dense | str:
    if str(m.weight.dtype) not in ("torch.float32", "torch.float64"):
        return f" in {m.weight.dtype}: use float32/64"
    W = _numpy(m.weight).T
    dense = layers.Dense(m.in_features, m.out_features, init="zeros", dtype=W.dtype)
    dense.params["W"][...] = W
    if m.bias is not None:  # without a bias, b stays at zero (and is trainable)
        dense.params["b"][...] = _numpy(m.bias)
    return dense


def _affine_to(layer, m, torch):
    if layer.affine:
        _copy(torch, m.weight, layer.params["gamma"])
        _copy(torch, m.bias, layer.params["beta"])
    return m


def _affine_from(m, layer):
    if layer.affine:
        layer.params["gamma"][...] = _numpy(m.weight)
        layer.params["beta"][...] = _numpy(m.bias)
    return layer


def _batch_norm_to(layer: layers.BatchNorm, torch, dtype):
    """BatchNorm1d: gamma, beta as weight and bias; the running statistics as buffers."""
    m = torch.nn.BatchNorm1d(layer.n_features, eps=layer.eps, momentum=layer.momentum,
                             affine=layer.affine, dtype=dtype)  # fmt: skip
    _copy(torch, m.running_mean, layer.buffers["running_mean"])
    _copy(torch, m.running_var, layer.buffers["running_var"])
    return _affine_to(layer, m, torch)


def _batch_norm_from(m) -> layers.BatchNorm | str:
    if not m.track_running_stats or m.momentum is None:
        return (" without running statistics or with momentum=None: chainrule's BatchNorm "
                "keeps an exponential average")  # fmt: skip
    layer = layers.BatchNorm(m.num_features, momentum=m.momentum, eps=m.eps, affine=m.affine,
                      dtype=_numpy_dtype(m.running_mean.dtype))  # fmt: skip
    layer.buffers["running_mean"][...] = _numpy(m.running_mean)
    layer.buffers["running_var"][...] = _numpy(m.running_var)
    return _affine_from(m, layer)


def _layer_norm_to(layer: layers.LayerNorm, torch, dtype):
    m = torch.nn.LayerNorm(layer.n_features, eps=layer.eps, elementwise_affine=layer.affine,
                           dtype=dtype)  # fmt: skip
    return _affine_to(layer, m, torch)


def _layer_norm_from(m) -> layers.LayerNorm | str:
    shape, affine = tuple(m.normalized_shape), m.elementwise_affine
    if len(shape) != 1 or (affine and m.bias is None):
        return f" over {shape}: chainrule's normalises the last dimension, with gamma and beta"
    dtype = _numpy_dtype(m.weight.dtype) if affine else None
    return _affine_from(m, layers.LayerNorm(shape[0], eps=m.eps, affine=affine, dtype=dtype))


def _gelu_from(m) -> layers.GELU | str:
    return layers.GELU() if m.approximate == "none" else f" with approximate={m.approximate!r}"


def _softplus_from(m) -> layers.Softplus | str:
    if m.beta == 1 and m.threshold == layers.Softplus.threshold:
        return layers.Softplus()
    return f" with beta={m.beta:g}, threshold={m.threshold:g}"


def _softmax_from(m) -> layers.Softmax | str:
    return layers.Softmax() if m.dim in (1, -1) else f" with dim={m.dim}"


def _same(module: str, layer_class: type) -> TorchPair:
    """A module with no arguments and a layer with none: ``nn.ReLU()`` and ``ReLU()``."""
    return TorchPair(module, lambda layer, torch, dtype: getattr(torch.nn, module)(),
                     lambda m: layer_class())  # fmt: skip


#: chainrule layer class -> its torch.nn module, both directions
TORCH_MODULES: dict[type[Layer], TorchPair] = {
    layers.Dense: TorchPair("Linear", _linear_to, _linear_from),
    layers.ReLU: _same("ReLU", layers.ReLU),
    layers.Tanh: _same("Tanh", layers.Tanh),
    layers.Sigmoid: _same("Sigmoid", layers.Sigmoid),
    layers.LeakyReLU: TorchPair(
        "LeakyReLU",
        lambda layer, torch, dtype: torch.nn.LeakyReLU(negative_slope=layer.alpha),
        lambda m: layers.LeakyReLU(alpha=m.negative_slope),
    ),
    layers.ELU: TorchPair(
        "ELU",
        lambda layer, torch, dtype: torch.nn.ELU(alpha=layer.alpha),
        lambda m: layers.ELU(alpha=m.alpha),
    ),
    layers.GELU: TorchPair("GELU", lambda layer, torch, dtype: torch.nn.GELU(), _gelu_from),
    layers.Softplus: TorchPair(
        "Softplus",
        lambda layer, torch, dtype: torch.nn.Softplus(beta=1.0, threshold=layer.threshold),
        _softplus_from,
    ),
    layers.Softmax: TorchPair(
        "Softmax", lambda layer, torch, dtype: torch.nn.Softmax(dim=1), _softmax_from
    ),
    layers.Identity: _same("Identity", layers.Identity),
    layers.Dropout: TorchPair(
        "Dropout",
        lambda layer, torch, dtype: torch.nn.Dropout(p=layer.p),
        lambda m: layers.Dropout(m.p),
    ),
    layers.BatchNorm: TorchPair("BatchNorm1d", _batch_norm_to, _batch_norm_from),
    layers.LayerNorm: TorchPair("LayerNorm", _layer_norm_to, _layer_norm_from),
}


def layer_class_of(module, torch) -> type[Layer] | None:
    """The chainrule layer class whose entry names the class of ``module`` (or a class
    it derives from), or None."""
    by_module = {getattr(torch.nn, pair.module): cls for cls, pair in TORCH_MODULES.items()}
    return next((by_module[c] for c in type(module).__mro__ if c in by_module), None)


def unknown_behaviour(module, base: type) -> str:
    """What makes ``module`` compute something its table class ``base`` does not ("" if
    nothing): a subclass's own ``forward``, a forward hook, or weights on the meta device
    (they hold no values). It completes "module 3 (ResidualLinear...)"."""
    if type(module).forward is not base.forward:
        return (f" overrides {base.__name__}.forward: chainrule cannot know what it "
                "computes; convert the modules its forward uses")  # fmt: skip
    if module._forward_hooks or module._forward_pre_hooks:
        return " has forward hooks, which change what it computes: remove them first"
    tensors = [*module.parameters(recurse=False), *module.buffers(recurse=False)]
    if any(t.is_meta for t in tensors):
        return (" is on the meta device and holds no values: materialise it first "
                "(module.to_empty(device='cpu'), then load_state_dict)")  # fmt: skip
    return ""
