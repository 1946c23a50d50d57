"""Serving the model: registry, request schema, predictor, prediction log, the HTTP service and its client (nbs/04_serve/)."""
