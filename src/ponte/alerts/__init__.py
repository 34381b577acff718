"""Alerts: rules per account, incidents (open, throttled, resolved) and their messages by e-mail and webhook.

`evaluate_alerts(db, settings, now=...)` is the one step; workers call `evaluate_alerts_when_due`, so that one of
them takes each run. See docs/alerts.md.
"""

from ponte.alerts.evaluate import evaluate_alerts, evaluate_alerts_when_due

__all__ = ["evaluate_alerts", "evaluate_alerts_when_due"]
