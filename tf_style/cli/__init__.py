"""Command-line programs (absl). The only package that defines or reads flags."""
