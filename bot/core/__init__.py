"""The message core: the inbound message, the pipeline (state, NLU, policy, action), the
dispatcher that answers accepted messages in order, and the officers' handoff desk."""
