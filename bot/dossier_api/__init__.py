"""The dossier-status API: its HTTP client (timeouts, retries, circuit breaker) and the
simulator that serves the contract for development and tests."""
