"""Service functions: what the API, the pages, the CLI and the worker all call. They take a Connection
and keyword-only arguments; the transaction belongs to the caller."""
