"""The console chat: the same pipeline from a terminal or a pipe, for developers and demos."""
