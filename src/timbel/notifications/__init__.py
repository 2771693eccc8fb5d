"""Notifications: render events per channel language, keep a delivery log, deliver with retries."""
