"""The dossier-status service: the API contract's types, its HTTP client and a simulator."""
