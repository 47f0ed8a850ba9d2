"""Inference: runners for ``.keras`` and ``.tflite`` networks (`runners`), tiles for large images (`tiles`), the shipped styles (`registry`) and painting a photo with all of them (`apply`)."""
