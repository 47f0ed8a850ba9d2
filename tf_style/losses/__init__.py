"""Losses: the functions (`functional`), weighted terms of them (`terms`), the `objective` that sums
the terms, and the `config` that chooses the loss network, its layers and the weights.
"""
