"""Fakes of systems that cannot run here (Jenkins, Argo CD, GitHub, Slack, Nexus), per their public APIs.

Each fake is a small ASGI app that records every request it receives (a ``Recorder``), so tests
assert the exact calls an adapter made. ``serve(app)`` runs one on a free loopback port. Fakes live only
under ``tests/``; product code never ships a simulator.
"""
