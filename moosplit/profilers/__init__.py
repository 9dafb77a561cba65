"""Profilers: turn a model (ONNX file, PyTorch module, built-in architecture) into a profile.

Front ends read a model into a :class:`~moosplit.profilers.graph.LayerGraph` and run it
through the :class:`~moosplit.profilers.graph.ModelRunner` protocol; device models,
quantisation error and codec measurement add the cost columns; the builder assembles the
profile. Heavy dependencies (onnx, onnxruntime, torch) are imported only when used.
"""
