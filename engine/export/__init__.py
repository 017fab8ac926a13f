"""Export: merge a checkpoint's LoRA, export ONNX graphs, quantize, and assemble bundles per precision."""
