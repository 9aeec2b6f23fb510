"""Bridges to other frameworks: PyTorch (``to_torch``, ``from_torch``) and ONNX.

``bridges.py`` holds the public functions. One mapping table per target: ``_torch.py``
(``TORCH_MODULES``: layer class <-> torch.nn module, both directions) and
``_onnx_graph.py`` (``ONNX_BUILDERS``: layer class -> graph builder, and the graph).
``_model.py`` reads a model for both (its network, head, inputs, precision).
"""

from .bridges import *  # noqa: F403  (the public functions; see bridges.__all__)
from .bridges import __all__ as __all__
