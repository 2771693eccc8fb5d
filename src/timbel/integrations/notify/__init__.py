"""Notification channels (kind ``notify``): apprise URLs as ``base.Notifier`` adapters."""
