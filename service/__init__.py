"""Thin HTTP layer (FastAPI) and the ``pathwise`` command line. No domain logic here."""
