"""Versioned schema migrations: ``NNNN_name.sql`` (portable) or ``NNNN_name.<dialect>.sql``."""
