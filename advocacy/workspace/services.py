"""Staff accounts: creation, single-use links, login with limits, two-factor, deactivation."""

from __future__ import annotations

import logging
import math
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pyotp
import segno
from email_validator import EmailNotValidError, validate_email
from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from limits import parse_many
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from advocacy.campaigns.addressing import letter_date
from advocacy.config import Settings
from advocacy.models import (
    Notification,
    NotificationKind,
    Partner,
    StaffToken,
    StaffTokenPurpose,
    StaffUser,
    WorkspaceSetting,
    utcnow,
)
from advocacy.security import email_digest
from advocacy.workspace import passwords, sessions
from advocacy.workspace.access import Role

logger = logging.getLogger(__name__)

# How long a link lasts: long enough to find the email, short enough to be worth little
# if a mailbox is read by somebody else later.
LINK_LIFETIMES = {
    StaffTokenPurpose.SET_PASSWORD: timedelta(hours=72),
    StaffTokenPurpose.RESET_PASSWORD: timedelta(hours=1),
}
LINK_PATHS = {
    StaffTokenPurpose.SET_PASSWORD: "/workspace/set-password/",
    StaffTokenPurpose.RESET_PASSWORD: "/workspace/reset/",
}
REQUIRE_TWO_FACTOR = "require_two_factor"
TOTP_ISSUER = "Advocacy workspace"


class WorkspaceError(Exception):
    """A problem the staff member can fix; `message` is shown as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def normalise_email(value: str) -> str:
    """A staff email as stored: validated, lower-cased; WorkspaceError if it is not one."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise WorkspaceError(f"That is not an email address we can use: {exc}") from exc


def find_user(session: Session, email: str) -> StaffUser | None:
    """The account with this email, if any."""
    return session.scalars(
        select(StaffUser).where(StaffUser.email == email.strip().lower())
    ).first()


def active_partners(session: Session) -> list[Partner]:
    """Partner organisations a partner account can belong to."""
    return list(
        session.scalars(select(Partner).where(Partner.is_active.is_(True)).order_by(Partner.name))
    )


def _partner_for(session: Session, role: Role, partner_slug: str) -> int | None:
    """The partner id a new account belongs to; partner accounts must name one."""
    if role != Role.PARTNER:
        if partner_slug:
            raise WorkspaceError("Only partner accounts belong to a partner organisation.")
        return None
    partner = session.scalars(
        select(Partner).where(Partner.slug == partner_slug, Partner.is_active.is_(True))
    ).first()
    if partner is None:
        raise WorkspaceError(
            "Choose the partner organisation this account belongs to: a partner account "
            "sees only its own organisation's figures."
        )
    return partner.id


def create_user(
    session: Session, email: str, role: Role, name: str = "", *, partner: str = ""
) -> StaffUser:
    """Create an account with no password yet; the person sets one from a link."""
    address = normalise_email(email)
    if find_user(session, address) is not None:
        raise WorkspaceError("There is already an account with that email.")
    role = Role(role)
    user = StaffUser(
        email=address,
        name=name.strip()[:200],
        role=role.value,
        partner_id=_partner_for(session, role, partner),
    )
    session.add(user)
    session.flush()
    return user


def active_owner_count(session: Session) -> int:
    """How many active owners there are (the last one may not be removed)."""
    return int(
        session.scalar(
            select(func.count(StaffUser.id)).where(
                StaffUser.role == Role.OWNER.value, StaffUser.is_active.is_(True)
            )
        )
        or 0
    )


# Single-use links ---------------------------------------------------------------------------


def _link_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="workspace-link")


def issue_token(session: Session, user: StaffUser, purpose: StaffTokenPurpose) -> StaffToken:
    """A new single-use link for `user`; earlier unused links of that purpose stop working."""
    now = utcnow()
    session.execute(
        update(StaffToken)
        .where(
            StaffToken.user_id == user.id,
            StaffToken.purpose == purpose.value,
            StaffToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    token = StaffToken(
        user_id=user.id,
        purpose=purpose.value,
        nonce=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + LINK_LIFETIMES[purpose],
    )
    session.add(token)
    session.flush()
    return token


def link_url(token: StaffToken, settings: Settings) -> str:
    """The full address of a single-use link."""
    signed = _link_serializer().dumps(token.nonce)
    return f"{settings.base_url}{LINK_PATHS[StaffTokenPurpose(token.purpose)]}{signed}"


def load_token(session: Session, signed: str, purpose: StaffTokenPurpose) -> StaffToken | None:
    """The unused, unexpired link named by `signed`, or None."""
    try:
        nonce = _link_serializer().loads(signed)
    except BadSignature:
        return None
    if not isinstance(nonce, str):
        return None
    token = session.scalars(
        select(StaffToken).where(StaffToken.nonce == nonce, StaffToken.purpose == purpose.value)
    ).first()
    if token is None or token.used_at is not None or token.expires_at <= utcnow():
        return None
    if not token.user.is_active:
        return None
    return token


def set_password(session: Session, token: StaffToken, password: str) -> StaffUser:
    """Set the password a link was for, spend the link and log the person out elsewhere."""
    user = token.user
    passwords.check_policy(password, email=user.email)
    user.password_hash = passwords.hash_password(password)
    token.used_at = utcnow()
    sessions.end_all_sessions(session, user.id)
    return user


def queue_link_email(session: Session, token: StaffToken, kind: NotificationKind) -> None:
    """Queue a system email carrying a link; the delivery worker sends it."""
    session.add(Notification(staff_token_id=token.id, kind=kind, next_attempt_at=utcnow()))


def invite(
    session: Session, email: str, role: Role, name: str = "", *, partner: str = ""
) -> StaffUser:
    """Create an account and email its set-password link."""
    user = create_user(session, email, role, name, partner=partner)
    token = issue_token(session, user, StaffTokenPurpose.SET_PASSWORD)
    queue_link_email(session, token, NotificationKind.STAFF_INVITE)
    return user


def resend_invitation(session: Session, user: StaffUser) -> None:
    """Email a fresh set-password link (the old one stops working)."""
    if not user.is_active:
        raise WorkspaceError("This account is deactivated.")
    token = issue_token(session, user, StaffTokenPurpose.SET_PASSWORD)
    queue_link_email(session, token, NotificationKind.STAFF_INVITE)


def request_password_reset(session: Session, email: str) -> bool:
    """Email a reset link when an active account has this address; True when one was queued.

    The page says the same either way, so nobody learns which addresses have accounts.
    """
    user = find_user(session, email)
    if user is None or not user.is_active:
        return False
    token = issue_token(session, user, StaffTokenPurpose.RESET_PASSWORD)
    queue_link_email(session, token, NotificationKind.STAFF_PASSWORD_RESET)
    return True


# Login --------------------------------------------------------------------------------------


class LoginRefused(WorkspaceError):
    """Wrong email or password (one message for both), or an inactive account."""


class LoginThrottled(WorkspaceError):
    """Too many failed attempts for this account or from this address."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


BAD_LOGIN = "That email and password do not match an account. Please check them and try again."


@dataclass(frozen=True)
class LoginLimits:
    """Failed-login allowances, from LOGIN_RATE_LIMIT_ACCOUNT and LOGIN_RATE_LIMIT_ADDRESS."""

    account: str
    address: str


def _login_limits() -> LoginLimits:
    settings: Settings = current_app.config["SETTINGS"]
    return LoginLimits(
        account=settings.login_rate_limit_account, address=settings.login_rate_limit_address
    )


def _limit_keys(email: str) -> list[tuple[str, tuple[str, ...]]]:
    """(limit, key) pairs: one per account (any typed email), one per client address."""
    limits = _login_limits()
    # A keyed hash, so the counters never hold a typed address (which may be a password
    # typed into the wrong box).
    account = email_digest(email or "-")
    address = request.remote_addr or "unknown"
    return [
        (limits.account, ("advocacy", "login-account", account)),
        (limits.address, ("advocacy", "login-address", address)),
    ]


def _strategy() -> FixedWindowRateLimiter:
    strategy: FixedWindowRateLimiter = current_app.extensions["rate_limiter"]
    return strategy


def check_throttle_for(email: str) -> None:
    """Refuse before checking a password when failures used up an allowance."""
    strategy = _strategy()
    for limit_value, key in _limit_keys(email):
        for item in parse_many(limit_value):
            try:
                if strategy.test(item, *key):
                    continue
                reset_at = strategy.get_window_stats(item, *key).reset_time
            except Exception as exc:  # storage down: do not lock everybody out
                logger.warning("login limit storage unavailable: %s", type(exc).__name__)
                return
            retry = max(1, math.ceil(reset_at - time.time()))
            raise LoginThrottled(
                "Too many failed attempts. For your account's safety, please wait "
                f"{max(1, math.ceil(retry / 60))} minutes and try again.",
                retry,
            )


def count_failure_for(email: str) -> None:
    """Count one failed attempt against the account and the address."""
    strategy = _strategy()
    for limit_value, key in _limit_keys(email):
        for item in parse_many(limit_value):
            try:
                strategy.hit(item, *key)
            except Exception as exc:
                logger.warning("login limit storage unavailable: %s", type(exc).__name__)
                return


@dataclass(frozen=True)
class LoginResult:
    """A checked password: the user, and whether a second factor is still to come."""

    user: StaffUser
    needs_totp: bool


def authenticate(session: Session, email: str, password: str) -> LoginResult:
    """Check an email and password under the rate limits; record failures in the audit log."""
    from advocacy.workspace.access import record_event

    typed = email.strip().lower()
    check_throttle_for(typed)
    user = find_user(session, typed)
    # Always verify a hash, even for an unknown address, so timing tells nothing.
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active or user.password_hash is None:
        count_failure_for(typed)
        reason = (
            "unknown account"
            if user is None
            else ("deactivated" if not user.is_active else "wrong password")
        )
        record_event(
            "login.failed",
            target=f"staff:{user.id}" if user else None,
            actor=None,
            reason=reason,
        )
        raise LoginRefused(BAD_LOGIN)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return LoginResult(user=user, needs_totp=user.is_totp_enabled)


def complete_login(session: Session, user: StaffUser) -> None:
    """Stamp a successful login, and clear away sessions nobody can use any more."""
    user.last_login_at = utcnow()
    sessions.purge_expired(session)


# Two-factor ---------------------------------------------------------------------------------


def get_setting(session: Session, name: str, default: str = "") -> str:
    """One workspace setting's value."""
    row = session.get(WorkspaceSetting, name)
    return row.value if row is not None else default


def put_setting(session: Session, name: str, value: str) -> None:
    """Change one workspace setting."""
    row = session.get(WorkspaceSetting, name)
    if row is None:
        session.add(WorkspaceSetting(name=name, value=value))
    else:
        row.value = value


def is_two_factor_required(session: Session) -> bool:
    """True when an owner has required two-factor for everybody."""
    return get_setting(session, REQUIRE_TWO_FACTOR) == "1"


def needs_two_factor_setup(session: Session, user: StaffUser) -> bool:
    """True when two-factor is required and this user has not set it up yet."""
    return not user.is_totp_enabled and is_two_factor_required(session)


def begin_totp(user: StaffUser) -> str:
    """Give the user a new, not yet enabled, TOTP secret; return it."""
    user.totp_secret = pyotp.random_base32()
    user.is_totp_enabled = False
    user.totp_last_step = None
    return user.totp_secret


def provisioning_uri(user: StaffUser) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    if not user.totp_secret:
        raise WorkspaceError("Start two-factor set-up first.")
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def qr_svg(data: str) -> str:
    """A QR code as an inline SVG document (drawn here: no third-party image service)."""
    return str(segno.make(data, error="m").svg_inline(scale=4, dark="#111", light="#fff"))


def verify_totp(user: StaffUser, code: str) -> bool:
    """Check a six-digit code (one step of clock drift allowed), never the same code twice."""
    if not user.totp_secret:
        return False
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now = time.time()
    for drift in (0, -1, 1):
        at = now + drift * totp.interval
        step = int(at // totp.interval)
        if totp.verify(code, for_time=at, valid_window=0):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False
            user.totp_last_step = step
            return True
    return False


def enable_totp(user: StaffUser, code: str) -> None:
    """Turn two-factor on once the user proves their app has the secret."""
    if not verify_totp(user, code):
        raise WorkspaceError(
            "That code did not match. Check your phone's clock and enter the newest code."
        )
    user.is_totp_enabled = True


def disable_totp(session: Session, user: StaffUser) -> None:
    """Turn two-factor off (refused while it is required for everybody)."""
    if is_two_factor_required(session):
        raise WorkspaceError("Two-factor is required for everybody here, so it stays on.")
    user.totp_secret = None
    user.is_totp_enabled = False
    user.totp_last_step = None


# Managing staff -----------------------------------------------------------------------------


def deactivate(session: Session, user: StaffUser) -> None:
    """Stop an account working at once: its sessions and links end."""
    if user.role == Role.OWNER.value and user.is_active and active_owner_count(session) <= 1:
        raise WorkspaceError("This is the only owner. Make somebody else an owner first.")
    user.is_active = False
    user.deactivated_at = utcnow()
    sessions.end_all_sessions(session, user.id)
    session.execute(
        update(StaffToken)
        .where(StaffToken.user_id == user.id, StaffToken.used_at.is_(None))
        .values(used_at=utcnow())
    )


def reactivate(session: Session, user: StaffUser) -> None:
    """Let a deactivated account log in again (with its old password, or a new link)."""
    user.is_active = True
    user.deactivated_at = None


def change_role(session: Session, user: StaffUser, role: Role) -> None:
    """Give a user another role (the last owner keeps theirs)."""
    if (
        user.role == Role.OWNER.value
        and role != Role.OWNER
        and user.is_active
        and active_owner_count(session) <= 1
    ):
        raise WorkspaceError("This is the only owner. Make somebody else an owner first.")
    if role == Role.PARTNER and user.partner_id is None:
        raise WorkspaceError(
            "A partner account must belong to a partner organisation: invite it anew as a "
            "partner, choosing the organisation."
        )
    user.role = role.value
    if role != Role.PARTNER:
        user.partner_id = None
    # A changed role takes effect at once; sessions keep no copy of it.


def list_users(session: Session) -> list[StaffUser]:
    """Every account, active first, then by email."""
    return list(
        session.scalars(select(StaffUser).order_by(StaffUser.is_active.desc(), StaffUser.email))
    )


def staff_email_context(notification: Notification, settings: Settings) -> dict[str, Any]:
    """The values a staff system email's templates need."""
    token = notification.staff_token
    if token is None:
        raise ValueError("this notification carries no staff link")
    expires = token.expires_at
    return {
        "staff_name": token.user.label,
        "role": token.user.role,
        "link": link_url(token, settings),
        "expires_at": f"{expires:%H:%M} UTC on {letter_date(expires)}",
    }
