"""Build the ONNX graph of a chainrule model (private; see :func:`chainrule.export.to_onnx`).

A :class:`Graph` collects nodes and constants; each ``add_*`` function appends the
operators of one part of the model and returns the name of the tensor it produced::

    [bundle inputs -> impute, standardise, one-hot]  -> X
    X -> Gemm -> activation -> ... -> Gemm              -> Z   (the network)
    Z -> Softmax / Sigmoid / Exp / target scaling        -> outputs
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .. import layers
from ..layers.base import Layer
from ._model import (
    ONNX_OPSET,
    ExportError,
    flat_layers,
    lookup,
    model_dtype,
    n_features,
    network_and_head,
)

_ELEM = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}


class Graph:
    """Nodes, constants, inputs and outputs of one graph, in one float precision.

    Every tensor name is unique (ONNX's SSA form): ``reserved`` holds the input names
    (a bundle's column names, which may be anything, ``label`` or ``concat_1`` too);
    an intermediate name skips every name taken, and an output whose name is taken is
    renamed ``<name>_output`` (see :attr:`renamed`).
    """

    def __init__(self, dtype: np.dtype, reserved=()) -> None:
        self.dtype = np.dtype(dtype)
        self.elem = _ELEM[self.dtype]
        self.nodes, self.constants, self.inputs, self.outputs = [], [], [], []
        self._count = 0
        self._taken = set(reserved)
        self.renamed: dict[str, str] = {}  # output name -> the name it got instead

    def _name(self, hint: str) -> str:
        self._count += 1
        name = f"{hint}_{self._count}"
        while name in self._taken:
            self._count += 1
            name = f"{hint}_{self._count}"
        self._taken.add(name)
        return name

    def const(self, value, hint: str = "c") -> str:
        """A constant tensor; floats take the graph's precision."""
        value = np.asarray(value)
        if value.dtype.kind == "f":
            value = value.astype(self.dtype)
        name = self._name(hint)
        self.constants.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, *inputs: str, out: str | None = None, **attrs) -> str:
        out = out or self._name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def input(self, name: str, elem: int, width: int) -> str:
        self._taken.add(name)
        self.inputs.append(helper.make_tensor_value_info(name, elem, [None, width]))
        return name

    def output(self, tensor: str, name: str, elem: int, shape: list) -> None:
        wanted = name
        while name in self._taken:
            name += "_output"
        if name != wanted:
            self.renamed[wanted] = name
        self._taken.add(name)
        self.op("Identity", tensor, out=name)
        self.outputs.append(helper.make_tensor_value_info(name, elem, shape))

    def model(self) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes, "chainrule", self.inputs, self.outputs, self.constants
        )
        proto = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)], producer_name="chainrule"
        )
        proto.ir_version = 9  # the oldest IR that opset 19 allows: readable by older runtimes
        return proto


def add_network(g: Graph, X: str, net) -> str:
    """Z = the network applied to X, layer by layer, each by its builder in ``ONNX_BUILDERS``."""
    for layer in flat_layers(net):
        X = lookup(ONNX_BUILDERS, layer, "to_onnx")(g, X, layer)
    return X


def _gemm(g: Graph, X: str, layer) -> str:
    return g.op("Gemm", X, g.const(layer.params["W"], "W"), g.const(layer.params["b"], "b"))


def _unchanged(g: Graph, X: str, layer) -> str:
    return X  # Identity, and Dropout at inference


def _op(op_type: str, **attrs) -> Callable[[Graph, str, Layer], str]:
    """A builder of one ONNX operator with no constants: ``Relu``, ``Softmax(axis=1)``."""
    return lambda g, X, layer: g.op(op_type, X, **attrs)


def _leaky_relu(g: Graph, X: str, layer) -> str:
    """Where(X > 0, X, alpha * X): onnxruntime has no float64 LeakyRelu."""
    negative = g.op("Mul", X, g.const(layer.alpha, "alpha"))
    return g.op("Where", g.op("Greater", X, g.const(0.0, "zero")), X, negative)


def _elu(g: Graph, X: str, layer) -> str:
    """Where(X > 0, X, alpha * (exp(X) - 1)): onnxruntime has no float64 Elu."""
    expm1 = g.op("Sub", g.op("Exp", X), g.const(1.0, "one"))
    negative = g.op("Mul", expm1, g.const(layer.alpha, "alpha"))
    return g.op("Where", g.op("Greater", X, g.const(0.0, "zero")), X, negative)


def _gelu(g: Graph, X: str, layer) -> str:
    """X * (1 + erf(X / sqrt(2))) / 2, in float32 only (no float64 Erf in onnxruntime)."""
    if g.dtype != np.float32:
        raise ExportError(
            "to_onnx: onnxruntime has no float64 Erf, which GELU needs; export the "
            "network in float32 (net.astype(np.float32)) or use another activation."
        )
    erf = g.op("Erf", g.op("Div", X, g.const(np.sqrt(2.0), "sqrt2")))
    return g.op("Mul", g.op("Mul", X, g.const(0.5, "half")), g.op("Add", erf, g.const(1.0)))


def _softplus(g: Graph, X: str, layer) -> str:
    """Where(X > 20, X, log(1 + exp(min(X, 20))))."""
    cap = g.const(layer.threshold, "threshold")
    soft = g.op("Log", g.op("Add", g.op("Exp", g.op("Min", X, cap)), g.const(1.0)))
    return g.op("Where", g.op("Greater", X, cap), X, soft)


def add_normalization(g: Graph, X: str, layer) -> str:
    """Inference: (X - mean) / sqrt(var + eps) * gamma + beta, with BatchNorm's running
    statistics, or each row's own mean and variance for LayerNorm."""
    if isinstance(layer, layers.BatchNorm):
        mean = g.const(layer.buffers["running_mean"], "running_mean")
        std = g.const(np.sqrt(layer.buffers["running_var"] + layer.eps), "running_std")
        D = g.op("Sub", X, mean)
    else:
        axis = g.const(np.array([1], dtype=np.int64), "axis")
        D = g.op("Sub", X, g.op("ReduceMean", X, axis, keepdims=1))
        var = g.op("ReduceMean", g.op("Mul", D, D), axis, keepdims=1)
        std = g.op("Sqrt", g.op("Add", var, g.const(layer.eps, "eps")))
    X = g.op("Div", D, std)
    if layer.affine:
        X = g.op("Add", g.op("Mul", X, g.const(layer.params["gamma"], "gamma")),
                 g.const(layer.params["beta"], "beta"))  # fmt: skip
    return X


#: chainrule layer class -> the function that appends its operators to the graph
ONNX_BUILDERS: dict[type[Layer], Callable[[Graph, str, Layer], str]] = {
    layers.Dense: _gemm,
    layers.ReLU: _op("Relu"),
    layers.Tanh: _op("Tanh"),
    layers.Sigmoid: _op("Sigmoid"),
    layers.LeakyReLU: _leaky_relu,
    layers.ELU: _elu,
    layers.GELU: _gelu,
    layers.Softplus: _softplus,
    layers.Softmax: _op("Softmax", axis=1),
    layers.Identity: _unchanged,
    layers.Dropout: _unchanged,
    layers.BatchNorm: add_normalization,
    layers.LayerNorm: add_normalization,
}


def _classes_const(g: Graph, classes) -> tuple[str, int]:
    classes = np.asarray(classes)
    if classes.dtype.kind in "iu":
        return g.const(classes.astype(np.int64), "classes"), TensorProto.INT64
    if classes.dtype.kind in "OUS":
        labels = np.array([str(c) for c in classes], dtype=object)
        return g.const(labels, "classes"), TensorProto.STRING
    if classes.dtype.kind == "f":
        return g.const(classes, "classes"), g.elem
    raise ExportError(
        f"to_onnx: class labels of dtype {classes.dtype} have no ONNX form; encode them as "
        "integers or strings before fitting."
    )


def add_head(
    g: Graph, Z: str, head: str | None, estimator, n_out: int, variable: str = "variable"
) -> None:
    """The outputs: Y (a network), label + probabilities (a classifier), ``variable``
    (a regressor; a bundle names it after its target, ``predicted_<target>``)."""
    if head is None:
        g.output(Z, "Y", g.elem, [None, n_out])
    elif head in ("identity", "exp"):
        g.output(Z if head == "identity" else g.op("Exp", Z), variable, g.elem, [None, n_out])
    elif head == "logistic" and n_out > 1:  # multilabel: one independent sigmoid per label
        P = g.op("Sigmoid", Z)
        label = g.op("Cast", g.op("Greater", P, g.const(0.5, "half")), to=TensorProto.INT64)
        g.output(label, "label", TensorProto.INT64, [None, n_out])
        g.output(P, "probabilities", g.elem, [None, n_out])
    elif head in ("softmax", "logistic"):
        if head == "softmax":
            P = g.op("Softmax", Z, axis=1)
        else:  # binary: [1 - p, p], as predict_proba
            p = g.op("Sigmoid", Z)
            P = g.op("Concat", g.op("Sub", g.const(np.ones((1, 1)), "one"), p), p, axis=1)
        classes, elem = _classes_const(g, estimator.classes_)
        label = g.op("Gather", classes, g.op("ArgMax", P, axis=1, keepdims=0), axis=0)
        g.output(label, "label", elem, [None])
        g.output(P, "probabilities", g.elem, [None, len(estimator.classes_)])
    else:
        raise ExportError(f"to_onnx: unknown output activation {head!r}.")


def add_preprocessing(g: Graph, pre) -> str:
    """One input per feature column; numbers imputed and standardised, text one-hot.

    Numeric columns are float64 inputs (n, 1): x = median if NaN, then (x - mean) / scale,
    in float64 as the Preprocessor computes, then cast to the model's precision. Text
    columns are string inputs (n, 1) holding the category's text (``chainrule predict``
    reads it the same way); an empty string is a missing value and takes the training
    data's most frequent category; an unseen category gives an all-zero block.
    """
    blocks = []
    if pre.numeric_columns_:
        columns = [g.input(c, TensorProto.DOUBLE, 1) for c in pre.numeric_columns_]
        Xn = columns[0] if len(columns) == 1 else g.op("Concat", *columns, axis=1)
        median, mean, scale = (
            _const64(g, pre.median_, "median"),
            _const64(g, pre.mean_, "mean"),
            _const64(g, pre.scale_, "scale"),
        )
        Xn = g.op("Where", g.op("IsNaN", Xn), median, Xn)
        Xn = g.op("Div", g.op("Sub", Xn, mean), scale)
        blocks.append(g.op("Cast", Xn, to=g.elem) if g.elem != TensorProto.DOUBLE else Xn)
    for c, fill, categories in zip(
        pre.categorical_columns_, pre.fill_values_, pre.categories_, strict=True
    ):
        v = g.input(c, TensorProto.STRING, 1)
        empty = g.op("Equal", v, g.const(np.array([""], dtype=object), "empty"))
        v = g.op("Where", empty, g.const(np.array([str(fill)], dtype=object), "fill"), v)
        cats = g.const(np.array([[str(k) for k in categories]], dtype=object), "categories")
        blocks.append(g.op("Cast", g.op("Equal", v, cats), to=g.elem))
    return blocks[0] if len(blocks) == 1 else g.op("Concat", *blocks, axis=1)


def _const64(g: Graph, array, hint: str) -> str:
    name = g._name(hint)
    g.constants.append(numpy_helper.from_array(np.asarray(array, dtype=np.float64), name))
    return name


def model_proto(model) -> onnx.ModelProto:
    """The whole graph of a Sequential, an estimator or a ModelBundle."""
    return build_graph(model).model()


def build_graph(model) -> Graph:
    """The :class:`Graph` of :func:`model_proto` (its ``renamed`` says which outputs
    took another name because a feature column had theirs)."""
    net, head = network_and_head(model)
    pre = getattr(model, "preprocessor", None)
    columns = () if pre is None else [*pre.numeric_columns_, *pre.categorical_columns_]
    g = Graph(model_dtype(net), reserved=columns)
    if hasattr(model, "preprocessor"):  # a ModelBundle: raw columns in
        X = add_preprocessing(g, model.preprocessor)
    else:
        X = g.input("X", g.elem, n_features(net))
    Z = add_network(g, X, net)
    n_out = net.output_dim(n_features(net))
    scaler = getattr(model, "target_scaler", None)
    if scaler is not None:  # regression bundle: back to the target's own units
        Z = g.op("Add", g.op("Mul", Z, g.const(scaler.scale_, "y_scale")), g.const(scaler.mean_))
    estimator = getattr(model, "estimator", model)
    target = getattr(model, "target", None)  # a bundle's target column(s)
    variable = "variable" if not target else "predicted_" + "_".join(map(str, target))
    add_head(g, Z, head, estimator, n_out, variable)
    return g
