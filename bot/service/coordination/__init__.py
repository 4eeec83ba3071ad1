"""Coordination between workers: conversation locks, rate limits and the reload
signal, in memory (one process) or in Redis (several workers)."""
