"""Dialogue state and the policy that picks an action for each message."""
