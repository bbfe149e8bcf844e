"""Bare extension instances, bound to the app in create_app()."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from advocacy.db import Database

db = Database()
# Per-address limits on the endpoints that send email or call upstream APIs. Addresses are
# held only in the limiter's short-lived counters (memory or Redis), never logged.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
