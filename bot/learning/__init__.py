"""Machine-learning operations inside the service: retraining the NLU from staff labels,
comparing and activating models."""
