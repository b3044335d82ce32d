"""The network zoo: CNNs built by our own code, equal op for op to torchvision's ONNX export."""
