"""The feed-forward transform network of Johnson, Alahi & Fei-Fei (ECCV 2016), with its presets."""
