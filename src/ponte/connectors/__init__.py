"""Connectors: one small class per marketplace or ERP kind, behind the interface in base.py."""
