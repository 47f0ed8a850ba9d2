"""Export: networks to SavedModel and TFLite (`tflite`), and the checks every converted file passes (`parity`)."""
