"""Pipeline engines: the local runner and Jenkins behind ``engine_base.Engine``."""
