"""The transcript document and everything rendered from it."""
