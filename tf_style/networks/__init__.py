"""Networks: shared layers (`layers`) and one folder per network family.

`johnson`: one feed-forward network per style (or a few); `universal`: any painting, no training per painting.
"""
