"""What params.yaml may say, and the project settings read from it and the environment (nbs/01_config/)."""
