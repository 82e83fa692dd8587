"""Engine services: each takes a request context, authorizes, does the work, and says what changed.

Front ends (SQL, Python client, REST, CLI) call these and nothing below them.
"""
