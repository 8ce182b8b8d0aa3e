"""The database: engine, tables, repositories and migrations."""
