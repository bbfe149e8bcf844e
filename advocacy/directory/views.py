"""JSON API of the MP directory."""

from flask import Blueprint

bp = Blueprint("directory", __name__, url_prefix="/api")
