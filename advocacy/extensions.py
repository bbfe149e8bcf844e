"""Bare extension instances, bound to the app in create_app()."""

from advocacy.db import Database

db = Database()
