"""Training (model optimisation): settings (`config`), photos (`data`), the loop every network family
shares (`trainer`), checkpoint checks (`checkpoints`) and the Johnson family's training (`fast_style`).
"""
