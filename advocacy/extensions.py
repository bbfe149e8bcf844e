"""Bare extension instances, bound to the app in create_app()."""

from advocacy.db import Database
from advocacy.ratelimit import RateLimiter

db = Database()
# Per-address limits on the endpoints that send email or call upstream APIs. Addresses are
# held only in the limiter's short-lived counters (memory or Redis), never logged.
limiter = RateLimiter()
