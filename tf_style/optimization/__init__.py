"""Image optimisation (Gatys et al.): settings (`config`), the run (`image_optimization`) and its L-BFGS (`lbfgs`)."""
