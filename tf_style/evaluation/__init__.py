"""Evaluation: measures of a picture that the loss network does not define (`measures`), for benchmarks and sheets."""
