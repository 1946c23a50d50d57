"""The model in production: drift, live performance, backtest, monitoring and retraining (nbs/05_monitor/)."""
