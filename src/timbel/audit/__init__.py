"""Append-only audit trail of mutating requests and security events."""
