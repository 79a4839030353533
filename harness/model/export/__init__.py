"""Bring models into a zoo: export to ONNX (torch.onnx, tf2onnx) and write the card beside the file.

Each exporter is in its own module so that importing one framework never imports the other.
"""
