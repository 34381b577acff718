"""Alerts: rules per account, incidents (open, throttled, resolved) and their messages by e-mail and webhook.

`evaluate_alerts(db, settings, now=...)` is the one step; see docs/alerts.md.
"""

from ponte.alerts.evaluate import evaluate_alerts

__all__ = ["evaluate_alerts"]
