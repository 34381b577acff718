"""Alerts: rules per account, incidents (open, throttled, resolved) and their messages by e-mail and webhook.

`evaluate_alerts(db, settings, now=...)` is the one step; workers run `alerts_job` (which calls `evaluate_alerts_when_due`), so that
one of them takes each run. See docs/alerts.md.
"""

from ponte.alerts.evaluate import alerts_job, evaluate_alerts, evaluate_alerts_when_due

__all__ = ["alerts_job", "evaluate_alerts", "evaluate_alerts_when_due"]
