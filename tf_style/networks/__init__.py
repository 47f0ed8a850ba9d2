"""Networks: shared layers (`layers`) and one folder per network family with its presets (`johnson`)."""
