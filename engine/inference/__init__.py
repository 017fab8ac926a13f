"""Generation from an exported ONNX bundle with onnxruntime, numpy and tokenizers only (never torch).

This is what ships to users (``lofi generate``, ``lofi-daemon``): it must start fast and stay small,
so nothing here may import torch, transformers or diffusers (a test checks it in a subprocess).
"""
