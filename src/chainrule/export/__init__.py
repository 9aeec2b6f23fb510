"""Bridges to other frameworks: PyTorch (``to_torch``, ``from_torch``) and ONNX.

``bridges.py`` holds the public functions. One mapping table per target: ``_torch.py``
(``TORCH_MODULES``: layer class <-> torch.nn module, both directions) and
``_onnx_graph.py`` (``ONNX_BUILDERS``: layer class -> graph builder, and the graph).
``_model.py`` reads a model for both (its network, head, inputs, precision).
"""

from .bridges import (
    ONNX_OPSET,
    ExportError,
    export_file,
    from_torch,
    network_and_head,
    register_skl2onnx,
    to_onnx,
    to_torch,
)

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
