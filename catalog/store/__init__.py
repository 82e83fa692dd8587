"""The metastore on DuckDB: opening a home, schema migrations, plain data access."""
