"""The model: features, metrics and statistics, its record and file, training, evaluation (nbs/03_model/)."""
