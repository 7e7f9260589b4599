"""Taking a run out of charloom: its step as an ONNX graph."""
