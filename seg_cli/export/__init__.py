"""Exported models: the formats of `seg export format=` (formats/, one module each), the graph exporters they use
(exporters) and running ONNX files (onnx_runtime)."""
