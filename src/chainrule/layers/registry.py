"""The activations by name: the one place a name such as ``"relu"`` becomes a layer class.

Every surface that takes an activation by name (the estimators' ``activation=``, the
command's ``--activation``, the playground's settings, the quiz) looks it up here. A
surface may offer only some of the names (scikit-learn's four, say): it passes them as
``among`` and an unknown name gets the same message everywhere::

    unknown activation 'swish'; choose one of identity, logistic, tanh, relu.

Aliases name the same class: ``"logistic"`` (scikit-learn's word) is ``"sigmoid"``, and
``"linear"`` (the playground's) is ``"identity"``.
"""

from __future__ import annotations

from collections.abc import Iterable

from .._checks import lookup
from .activations import ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .base import Layer

#: every activation layer by name, aliases included, in the order error messages list them
ACTIVATIONS: dict[str, type[Layer]] = {
    "identity": Identity,
    "linear": Identity,
    "sigmoid": Sigmoid,
    "logistic": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "gelu": GELU,
    "softplus": Softplus,
    "softmax": Softmax,
}

#: scikit-learn's hidden activations, by its names (the estimators' ``activation=``)
SKLEARN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu")


def get_activation(name: str, among: Iterable[str] | None = None) -> type[Layer]:
    """The activation layer class of ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`ACTIVATIONS`, e.g. ``"relu"`` or ``"logistic"``.
    among : iterable of str, optional
        The names a surface offers (each a key of :data:`ACTIVATIONS`); default all.

    Returns
    -------
    type
        The class, e.g. ``ReLU``; call it for a layer.

    Raises
    ------
    ValueError
        ``unknown activation 'swish'; choose one of ...`` listing the names offered.
    """
    table = ACTIVATIONS if among is None else {n: ACTIVATIONS[n] for n in among}
    return lookup(table, name, "activation")


def activation_name(activation: Layer | type[Layer], among: Iterable[str] | None = None):
    """The first name in ``among`` (default all names) of ``activation``'s exact class.

    ``activation_name(Sigmoid(), among=SKLEARN_ACTIVATIONS)`` is ``"logistic"``. None
    when no name offered there fits (e.g. a ``Dense`` layer).
    """
    cls = activation if isinstance(activation, type) else type(activation)
    return next((n for n in (among or ACTIVATIONS) if ACTIVATIONS[n] is cls), None)
