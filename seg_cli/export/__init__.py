"""Exported models: writing ONNX / TorchScript files (exporters) and running ONNX ones (onnx_runtime)."""
