"""Adapters to the company's real tools behind small typed Protocols (see ``base.py``)."""
