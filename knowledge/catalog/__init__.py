"""The national procedure catalog: the portal's records parsed into the project's own form
(the second tier of the knowledge base, after the curated procedures)."""
