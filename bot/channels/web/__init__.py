"""The web channel: the Rasa-REST-compatible chat API, staff replies by polling, and the
widget."""
