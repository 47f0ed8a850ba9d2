"""Inference: runners for ``.keras`` and ``.tflite`` networks of any signature (`runners`), tiles for large
images (`tiles`), the shipped styles (`registry`), and painting photos with them (`apply`).
"""
