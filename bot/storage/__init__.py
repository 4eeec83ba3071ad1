"""Conversation and staff persistence: the database engines and migrations, inbox, outbox,
conversation state and transcripts, staff accounts, labels, the handoff queue, key-values and
the write batcher. Not the knowledge base (knowledge/)."""
