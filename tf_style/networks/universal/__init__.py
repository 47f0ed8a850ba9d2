"""Universal style transfer (Li et al., NeurIPS 2017): any painting in one pass, decoders trained on photos alone.

`transforms` (WCT and AdaIN maths), `decoder` (VGG features back to images),
`layers` (the transforms as Keras layers), `model` (encoder, decoders and the
coarse-to-fine pass as Keras models), `contract` (names, blending, alignment; NumPy only).
"""
