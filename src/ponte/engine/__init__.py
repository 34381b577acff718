"""The engine: the integrations table as a queue, the worker that drains it, and the flow logic."""
