"""The Zalo Official Account channel: a signed webhook in, consultation messages out."""
