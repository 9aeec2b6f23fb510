"""The layers' state: a chainrule layer (a ``Sequential`` included) as a JSON
architecture plus named arrays, and back, every value checked as untrusted input.

:func:`layer_to_state` describes a layer (class name, ``get_config()``, a map from its
parameters and buffers to array names); :func:`layer_from_state` rebuilds one,
instantiating only the classes exported by :mod:`chainrule.layers`, checking every
config against the stored arrays before a layer allocates anything, and every stored
array (present, used once, of the layer's shape, float32 or float64, finite).
:func:`split_state` and :func:`join_state` store a ``state_dict()`` in the same way.
``chainrule.persistence.npz`` writes and reads these states as model files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..layers.base import Layer
from ..layers.sequential import Sequential

__all__ = ["join_state", "layer_from_state", "layer_to_state", "split_state"]

_MAX_DEPTH = 64  # nesting of Sequential inside Sequential
_FLOAT_DTYPES = (np.dtype("float32"), np.dtype("float64"))


class _SpecError(ValueError):
    """An inconsistency in a header or a state; ``load`` adds the file name."""


def _jtype(value) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _layer_classes() -> dict[str, type[Layer]]:
    """The allow-list: every Layer subclass exported by ``chainrule.layers``, by name.

    Read at each call, so a layer added to ``chainrule.layers.__all__`` is picked up.
    """
    from .. import layers

    classes = {}
    for name in layers.__all__:
        obj = getattr(layers, name, None)
        if isinstance(obj, type) and issubclass(obj, Layer) and obj is not Layer:
            classes[obj.__name__] = obj
    return classes


def layer_to_state(layer: Layer, prefix: str = "") -> tuple[dict, dict[str, np.ndarray]]:
    """Describe a chainrule layer (a ``Sequential`` included) as JSON plus named arrays.

    Parameters
    ----------
    layer : Layer
        An instance of a class exported by :mod:`chainrule.layers`.
    prefix : str, default ""
        Prepended to every array name, e.g. ``"network."`` when a network is part of a
        larger state.

    Returns
    -------
    architecture : dict
        ``{"class": name, "config": layer.get_config(), "params": {param: array name}}``
        plus, for a ``Sequential``, ``"layers": [architecture of each layer]``.
    arrays : dict[str, ndarray]
        The parameters, named ``prefix + "W"`` for a single layer and
        ``prefix + "layers.<i>.W"`` inside a ``Sequential`` (recursively).

    Raises
    ------
    TypeError
        If a layer is not one of chainrule's own layer classes, or the layers mix float32
        and float64 arrays (cast the network to one precision first).
    """
    arrays: dict[str, np.ndarray] = {}
    architecture = _layer_node(layer, prefix, arrays, _layer_classes(), "the model", 0)
    mixed = _mixed_precisions(arrays)
    if mixed:
        raise TypeError(
            f"cannot save the model: it {mixed}. A network computes in one precision (a "
            "float32 layer refuses a float64 input): cast it first, net.astype(np.float64) "
            "or net.astype(np.float32)."
        )
    return architecture, arrays


def _mixed_precisions(arrays: Mapping[str, np.ndarray]) -> str | None:
    """``"mixes float32 ('layers.2.W') and float64 ('layers.0.W') arrays"`` when the
    arrays are of more than one float dtype (the first array of each named); else None."""
    first: dict[str, str] = {}
    for name, value in arrays.items():
        first.setdefault(str(value.dtype), name)
    if len(first) < 2:
        return None
    kinds = " and ".join(f"{d} ({n!r})" for d, n in sorted(first.items()))
    return f"mixes {kinds} arrays"


def split_state(state: dict, prefix: str) -> tuple[dict, dict[str, np.ndarray]]:
    """A ``state_dict()`` (see ``chainrule._checks``) as a file stores it: the JSON values,
    and the arrays named ``prefix + key`` (e.g. ``"optimizer.0.M"``).

    Returns
    -------
    values : dict
        The entries that are not arrays (for the JSON header).
    arrays : dict[str, ndarray]
        The arrays, renamed.
    """
    values = {k: v for k, v in state.items() if not isinstance(v, np.ndarray)}
    arrays = {prefix + k: v for k, v in state.items() if isinstance(v, np.ndarray)}
    return values, arrays


def join_state(values, arrays: Mapping[str, np.ndarray], prefix: str) -> dict:
    """The inverse of :func:`split_state`: ``values`` plus the arrays named ``prefix...``
    under their keys (a ValueError if a key is both, or ``values`` is not an object)."""
    if not isinstance(values, dict):
        raise _SpecError(f"a stored state must be a JSON object, got {_jtype(values)}.")
    state = dict(values)
    for name, value in arrays.items():
        if name.startswith(prefix):
            key = name[len(prefix) :]
            if key in state:
                raise _SpecError(f"{key!r} is stored both as a value and as array {name!r}.")
            state[key] = value
    return state


def _layer_node(layer, prefix, arrays, classes, where, depth) -> dict:
    name = type(layer).__name__
    if classes.get(name) is not type(layer):
        raise TypeError(
            f"cannot save {where}: it is a {type(layer).__module__}.{type(layer).__qualname__}, "
            f"and load() only rebuilds chainrule's own layers ({', '.join(sorted(classes))}). "
            "Build the network from those, or make your class saveable with "
            "chainrule.persistence.register_kind."
        )
    if depth > _MAX_DEPTH:
        raise ValueError(f"cannot save {where}: Sequential nested deeper than {_MAX_DEPTH}.")
    config = layer.get_config()
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise TypeError(f"cannot save {where}: {name}.get_config() must return a dict.")
    node: dict[str, Any] = {"class": name, "config": config, "params": {}}
    for pname, value in layer.params.items():
        node["params"][pname] = prefix + pname
        arrays[prefix + pname] = value
    if getattr(layer, "buffers", None):  # written only when there are some
        node["buffers"] = {}
        for bname, value in layer.buffers.items():
            node["buffers"][bname] = prefix + bname
            arrays[prefix + bname] = value
    if isinstance(layer, Sequential):
        node["layers"] = [
            _layer_node(
                child, f"{prefix}layers.{i}.", arrays, classes, f"layer {i} of {where}", depth + 1
            )
            for i, child in enumerate(layer.layers)
        ]
    return node


def layer_from_state(architecture: dict, arrays: Mapping[str, np.ndarray]) -> Layer:
    """Rebuild a layer described by :func:`layer_to_state`, checking everything.

    Only classes exported by :mod:`chainrule.layers` are instantiated, with the stored
    config as keyword arguments; their parameters are then replaced by the given arrays
    (and their gradients reset to zeros of the same shape and dtype), so the dtype of
    the arrays is kept: a float32 network comes back float32.

    Parameters
    ----------
    architecture : dict
        As returned by ``layer_to_state`` (after a trip through JSON).
    arrays : Mapping[str, ndarray]
        At least the arrays the architecture names; shapes must match the rebuilt layers.

    Returns
    -------
    layer : Layer

    Raises
    ------
    ValueError
        If the architecture is malformed, names an unknown class or a missing array,
        cannot be rebuilt from its config, an array has the wrong shape or dtype, or the
        layers mix float32 and float64 (which :func:`layer_to_state` refuses to write).
    """
    return _build_model(architecture, arrays)[0]


def _build_model(architecture, arrays: Mapping[str, np.ndarray]) -> tuple[Layer, set[str]]:
    """The model's top layer, rebuilt and checked, and the names of the arrays it used;
    a network whose layers mix float32 and float64 is refused as a whole."""
    used: set[str] = set()
    layer = _build_layer(architecture, arrays, _layer_classes(), "the model", 0, used)
    mixed = _mixed_precisions({name: arrays[name] for name in sorted(used)})
    if mixed:  # chainrule.save refuses such a network: the file is not its
        raise _SpecError(
            f"the network {mixed} across its layers; a network computes in one precision, "
            "and chainrule.save never writes such a file. Save the network again from the "
            "code that built it, after net.astype(np.float64) (or np.float32)."
        )
    return layer, used


def _build_layer(node, arrays, classes, where, depth, used) -> Layer:
    """Rebuild one layer (and, for a ``Sequential``, its layers first), checking in this
    order: the node's class and fields, its config and maps, its children, the stored
    sizes against the config (before allocating), then its parameters and buffers."""
    name, cls = _node_class(node, classes, where, depth)
    config, params = _node_maps(node, name, where)
    children = []
    if cls is Sequential:
        if not isinstance(node["layers"], list):
            raise _SpecError(f"{where} (Sequential): 'layers' must be a list.")
        children = [
            _build_layer(child, arrays, classes, f"layer {i} of {where}", depth + 1, used)
            for i, child in enumerate(node["layers"])
        ]
    _check_sizes_before_building(name, config, params, arrays, where, used)
    try:
        layer = cls(*children, **config)
    except (TypeError, ValueError) as exc:
        raise _SpecError(
            f"{where} ({name}) cannot be rebuilt from its config {config!r}: {exc}"
        ) from exc
    if set(params) != set(layer.params):
        raise _SpecError(
            f"{where} ({name}) stores parameters {sorted(params)}, but a {name} has "
            f"{sorted(layer.params)}."
        )
    _set_buffers(layer, node.get("buffers", {}), arrays, f"{where} ({name})", used)
    for pname, aname in params.items():
        value = _stored_array(
            arrays, aname, layer.params[pname], used, kind="parameter",
            what=f"{where} ({name})", role=pname, config=config,
        )  # fmt: skip
        layer.params[pname] = value
        layer.grads[pname] = np.zeros_like(value)
    dtypes = {str(A.dtype) for A in (*layer.params.values(), *layer.buffers.values())}
    if layer.buffers and len(dtypes) > 1:
        raise _SpecError(
            f"{where} ({name}) mixes precisions in its parameters and buffers "
            f"({sorted(dtypes)}); a layer holds one. The file is inconsistent."
        )
    return layer


def _node_class(node, classes, where, depth) -> tuple[str, type[Layer]]:
    """The node's class, checked: nesting depth, a JSON object, a ``"class"`` from the
    allow-list ``classes``, and exactly the fields that class's node has."""
    if depth > _MAX_DEPTH:
        raise _SpecError(f"layers are nested deeper than {_MAX_DEPTH}.")
    if not isinstance(node, dict):
        raise _SpecError(f"{where} must be described by a JSON object, got {_jtype(node)}.")
    name = node.get("class")
    if not isinstance(name, str):
        raise _SpecError(f"{where} has no 'class' name (a string), got {name!r}.")
    if name not in classes:
        raise _SpecError(
            f"{where} is of an unknown layer class {name!r}; this chainrule rebuilds only "
            f"{', '.join(sorted(classes))}. The file was written by another library or a "
            "newer chainrule: upgrade chainrule, or check where the file comes from."
        )
    cls = classes[name]
    expected = {"class", "config", "params"} | ({"layers"} if cls is Sequential else set())
    if set(node) - {"buffers"} != expected:
        raise _SpecError(
            f"{where} ({name}) has fields {sorted(node)}; expected exactly {sorted(expected)} "
            "(and 'buffers' for a layer with buffers)."
        )
    return name, cls


def _node_maps(node: dict, name: str, where: str) -> tuple[dict, dict]:
    """The node's ``"config"`` (an object) and ``"params"`` (parameter name -> array name)."""
    config, params = node["config"], node["params"]
    if not isinstance(config, dict):
        raise _SpecError(f"{where} ({name}): 'config' must be an object, got {_jtype(config)}.")
    if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
        raise _SpecError(
            f"{where} ({name}): 'params' must map parameter names to array names (strings)."
        )
    return config, params


def _set_buffers(layer: Layer, buffers, arrays, what: str, used: set) -> None:
    """Replace ``layer``'s buffers by the stored arrays ``buffers`` names, checked: a map of
    strings, naming exactly the layer's buffers, each array as :func:`_stored_array` says."""
    if not isinstance(buffers, dict) or not all(isinstance(v, str) for v in buffers.values()):
        raise _SpecError(f"{what}: 'buffers' must map buffer names to array names (strings).")
    if set(buffers) != set(layer.buffers):
        name = type(layer).__name__
        raise _SpecError(
            f"{what} stores buffers {sorted(buffers)}, but a {name} has {sorted(layer.buffers)}."
        )
    for bname, aname in buffers.items():
        value = _stored_array(
            arrays, aname, layer.buffers[bname], used, kind="buffer", what=what, role=bname
        )
        low, meaning = layer.buffer_domains.get(bname, (-np.inf, ""))
        if (value < low).any():
            raise _SpecError(
                f"{what}: buffer {bname!r} (array {aname!r}) holds {value.min():g}, but it is "
                f"{meaning} and cannot be below {low:g}: every prediction would be NaN. The "
                "file was edited or damaged; train the model again."
            )
        layer.buffers[bname] = value


# What _stored_array says when a stored parameter or buffer is refused (str.format
# fields: what = "<where> (<class>)", role = its name, aname = the array's name,
# needed = the layer's shape for it, config, and the stored array's shape and dtype).
_ARRAY_REFUSALS = {
    "parameter": {
        "missing": "{what}: its parameter {role!r} names array {aname!r}, which is missing.",
        "used": "array {aname!r} is used by more than one parameter.",
        "shape": "{what}: parameter {role!r} must have shape {needed} for config {config!r}, "
        "but array {aname!r} has shape {shape}.",
        "dtype": "{what}: parameter {role!r} must be float32 or float64, but array {aname!r} "
        "is {dtype}.",
        "finite": "{what}: parameter {role!r} (array {aname!r}) holds NaN or inf values, so "
        "every prediction would be NaN: the model diverged before it was saved, or the file "
        "was edited. Train it again (with a lower learning rate).",
    },
    "buffer": {
        "missing": "{what}: buffer {role!r} names array {aname!r}, which is missing.",
        "used": "array {aname!r} is used by more than one parameter or buffer.",
        "shape": "{what}: buffer {role!r} must have shape {needed}, but {aname!r} has {shape}.",
        "dtype": "{what}: buffer {role!r} must be float32 or float64, but {aname!r} is {dtype}.",
        "finite": "{what}: buffer {role!r} (array {aname!r}) holds NaN or inf values: the "
        "model diverged before it was saved, or the file was edited. Train it again.",
    },
}


def _stored_array(arrays, aname: str, fresh: np.ndarray, used: set, *, kind: str, **words):
    """The array ``aname`` to replace ``fresh`` (a ``kind``: ``"parameter"`` or
    ``"buffer"``), checked in this order: present, used once, of ``fresh``'s shape,
    float32 or float64, finite; a writeable copy if read-only (training updates it in
    place). ``words`` (``what``, ``role``, ``config``) fill in ``_ARRAY_REFUSALS``."""
    said = _ARRAY_REFUSALS[kind]
    value = arrays.get(aname)
    facts = {"aname": aname, "needed": fresh.shape, "shape": getattr(value, "shape", None)}
    if aname not in arrays:
        raise _SpecError(said["missing"].format(**words, **facts))
    if aname in used:
        raise _SpecError(said["used"].format(**words, **facts))
    used.add(aname)
    if not isinstance(value, np.ndarray) or value.shape != fresh.shape:
        raise _SpecError(said["shape"].format(**words, **facts))
    if value.dtype not in _FLOAT_DTYPES:
        raise _SpecError(said["dtype"].format(**words, **facts, dtype=value.dtype))
    if not np.isfinite(value).all():
        raise _SpecError(said["finite"].format(**words, **facts))
    return value if value.flags.writeable else value.copy()


def _check_sizes_before_building(name, config, params, arrays, where, used) -> None:
    """``Dense(n_in, n_out)`` allocates n_in * n_out numbers: check the config against the
    stored arrays first, so that a small file declaring a huge layer allocates nothing."""
    n_in, n_out = config.get("n_in"), config.get("n_out")
    if name != "Dense" or not all(  # other layers have no parameters; the constructor
        isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in (n_in, n_out)
    ):  # refuses a bad n_in or n_out before allocating
        return
    if set(params) != {"W", "b"}:
        raise _SpecError(
            f"{where} (Dense) stores parameters {sorted(params)}, but a Dense has ['W', 'b']."
        )
    for pname, shape in (("W", (n_in, n_out)), ("b", (n_out,))):
        aname = params[pname]
        if aname not in arrays:
            raise _SpecError(
                f"{where} (Dense): its parameter {pname!r} names array {aname!r:.80}, which "
                "is missing."
            )
        if aname in used:
            raise _SpecError(f"array {aname!r} is used by more than one parameter.")
        if arrays[aname].shape != shape:
            raise _SpecError(
                f"{where} (Dense): parameter {pname!r} must have shape {shape} for config "
                f"{config!r:.200}, but array {aname!r} has shape {arrays[aname].shape}."
            )
