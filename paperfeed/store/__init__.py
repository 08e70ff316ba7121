"""The paper store: schema, queries and migrations.

Only ``sqlite.py`` and ``postgres.py`` know which database they talk to.
"""
