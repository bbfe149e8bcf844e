"""The advocacy engine: a Flask app that turns a person's concern into a letter to their MP."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from advocacy.config import PROJECT_ROOT, Settings
from advocacy.extensions import db, limiter
from advocacy.logs import install_redaction
from advocacy.security import NoCookieSessions


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the app: wiring only, no queries at start-up."""
    settings = settings or Settings.from_env()
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "advocacy" / "static"),
        instance_path=str(settings.instance_path),
    )
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url,
        BASE_URL=settings.base_url,
        MAX_CONTENT_LENGTH=256 * 1024,
        SESSION_COOKIE_SECURE=settings.is_production,
        SESSION_COOKIE_SAMESITE="Lax",
        TEMPLATES_AUTO_RELOAD=not settings.is_production,
    )
    app.config.update(overrides)
    if settings.is_production:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    _configure_logging(app)
    app.session_interface = NoCookieSessions()
    db.init_app(app)
    limiter.init_app(app, settings.rate_limit_storage_url)

    from advocacy import cli, errors
    from advocacy.campaigns import views as campaign_views
    from advocacy.dashboard import views as dashboard_views
    from advocacy.dashboard.cli import figures_command
    from advocacy.deliveries import views as delivery_screens
    from advocacy.delivery import webhooks
    from advocacy.delivery.cli import letters_command, worker_command
    from advocacy.directory import views as directory_views
    from advocacy.directory.cli import mps_command
    from advocacy.editor import views as editor_views
    from advocacy.kinds import views as signing_views
    from advocacy.kinds.cli import petitions_command, pledges_command
    from advocacy.partners import embedding
    from advocacy.partners import manage as partner_manage
    from advocacy.partners import views as partner_views
    from advocacy.privacy import moderation_views
    from advocacy.privacy import views as privacy_views
    from advocacy.privacy.cli import privacy_command
    from advocacy.responses import views as response_views
    from advocacy.words import views as words_views
    from advocacy.workspace import views as workspace_views
    from advocacy.workspace.cli import users_command

    app.register_blueprint(campaign_views.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(directory_views.bp)
    app.register_blueprint(words_views.bp)
    app.register_blueprint(signing_views.bp)
    app.register_blueprint(delivery_screens.bp)
    app.register_blueprint(privacy_views.bp)
    app.register_blueprint(response_views.inbound_bp)
    app.register_blueprint(response_views.bp)
    app.register_blueprint(response_views.staff_bp)
    app.register_blueprint(moderation_views.bp)
    app.register_blueprint(workspace_views.bp)
    app.register_blueprint(editor_views.bp)
    app.register_blueprint(partner_views.bp)
    app.register_blueprint(partner_manage.bp)
    embedding.init_app(app)
    app.register_blueprint(dashboard_views.bp)
    errors.init_app(app)
    cli.init_app(app)
    app.cli.add_command(worker_command)
    app.cli.add_command(letters_command)
    app.cli.add_command(mps_command)
    app.cli.add_command(petitions_command)
    app.cli.add_command(pledges_command)
    app.cli.add_command(figures_command)
    app.cli.add_command(privacy_command)
    app.cli.add_command(users_command)

    @app.after_request
    def _security_headers(response: Any) -> Any:
        # No third-party resources, ever: the people using this may be watched.
        # Framed only where a partner's embed allows it (partners.embedding), else nowhere.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"frame-ancestors {embedding.frame_ancestors()}; form-action 'self'; base-uri 'none'",
        )
        # Nothing to other sites; our own pages' form posts keep a real Origin (with
        # no-referrer, browsers send "Origin: null", which any sandboxed page can forge).
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Permissions-Policy", "interest-cohort=()")
        return response

    return app


def _configure_logging(app: Flask) -> None:
    """Plain, structured-enough logs; callers never pass personal data."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    # Werkzeug's access log and urllib3's debug lines would record postcodes from URLs.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    # PDF libraries log each step, and font subsetting names the glyphs (letters of names).
    for name in ("weasyprint", "fontTools", "fpdf"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # The servers' error lines still carry client addresses and request lines.
    install_redaction()
