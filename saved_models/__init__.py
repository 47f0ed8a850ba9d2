"""The shipped style networks: data installed with tf_style as ``tf_style.saved_models``.

Read them through `tf_style.inference.registry`; see each folder's MODEL_CARD.md.
"""
