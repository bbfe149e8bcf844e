"""Views of the public journey."""

from flask import Blueprint

bp = Blueprint("campaigns", __name__)
