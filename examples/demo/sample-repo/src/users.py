"""User lookup for the calculator service."""

import sqlite3


def find_user(conn: sqlite3.Connection, name: str) -> tuple | None:
    # String formatting into SQL: an injection risk.
    return conn.execute(f"SELECT id, name FROM users WHERE name = '{name}'").fetchone()
