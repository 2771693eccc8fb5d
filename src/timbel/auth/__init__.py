"""Users, roles, permissions, sessions and tokens."""
