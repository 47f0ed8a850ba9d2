"""VGG backbones: architectures, pretrained weights, and the feature extractor built on them."""
