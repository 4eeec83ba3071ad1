"""Loopback fakes of the outside services the bot talks to."""
