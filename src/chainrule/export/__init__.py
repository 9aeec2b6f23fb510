"""Bridges to other frameworks: PyTorch (``to_torch``, ``from_torch``) and ONNX.

``bridges.py`` holds the public functions; ``_onnx_graph.py`` builds the ONNX graph.
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
