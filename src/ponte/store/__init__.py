"""Storage: tables, the database connection, migrations and the queries over them."""
