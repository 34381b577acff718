"""The error knowledge base: categories, rules, fixes and help articles as data, and the classifier.

Public interface (the engine, API, web and CLI use only this):
    classify(connector=..., flow=..., message=..., http_status=..., code=..., account_rules=()) -> Explanation
"""

from __future__ import annotations

from ponte.knowledge.classifier import AccountRule, Explanation, classify

__all__ = ["AccountRule", "Explanation", "classify"]
