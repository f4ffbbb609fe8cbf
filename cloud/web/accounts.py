"""Users of the web app: argon2 passwords, roles, lock-out and throttling, TOTP.

Plain functions on a SQLAlchemy ``Connection`` in the caller's transaction, with ``now``
passed in (the web app's clock, or the CLI's wall clock); every change is written to the
audit log in the same transaction. Used by the web routes and by ``packline-cloud user``.

Sign-in is two steps when the user has a TOTP second factor: :func:`check_password`
answers ``NEEDS_TOTP`` and :func:`check_totp` finishes. Failures of either step count
toward the lock-out (``max_failed_logins`` in a row locks the account for
``lockout_minutes``) and toward the throttling of the client's address.
"""

from __future__ import annotations

import enum
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import pyotp
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.crypto import Sealer
from cloud.db.schema import login_failures, users
from cloud.errors import CloudError
from edge.domain.models import Role

MIN_PASSWORD_LENGTH = 10
"""Shortest password accepted."""

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
"""Usernames: 2–64 letters, digits, ``.``, ``_`` or ``-``; compared case-insensitively."""

_hasher = PasswordHasher()


class AccountError(CloudError):
    """A user change was refused; ``zh``/``en`` say why, ``field`` names the form field."""

    def __init__(self, zh: str, en: str, field: str | None = None) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en, self.field = zh, en, field


@dataclass(frozen=True, slots=True)
class User:
    """A user as the app sees one (no password hash, no secret)."""

    id: str
    username: str
    display_name: str
    role: Role
    active: bool
    totp_enabled: bool
    session_version: int
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """Lock-out and throttling limits (from :class:`~cloud.web.config.WebSettings`)."""

    max_failed_logins: int = 5
    lockout: timedelta = timedelta(minutes=15)
    ip_max_failures: int = 20
    ip_window: timedelta = timedelta(minutes=15)


class LoginStatus(enum.Enum):
    """What a sign-in step decided."""

    OK = "ok"
    NEEDS_TOTP = "needs_totp"
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"
    THROTTLED = "throttled"


@dataclass(frozen=True, slots=True)
class LoginResult:
    """The decision, the user when known and, when refused for a while, until when."""

    status: LoginStatus
    user: User | None = None
    until: datetime | None = None


def _user(row: sa.RowMapping) -> User:
    return User(
        id=row["id"], username=row["username"], display_name=row["display_name"],
        role=Role(row["role"]), active=bool(row["active"]),
        totp_enabled=row["totp_secret_enc"] is not None,
        session_version=int(row["session_version"]), locked_until=row["locked_until"],
        last_login_at=row["last_login_at"], created_at=row["created_at"],
    )


def normalize_username(username: str) -> str:
    """Trimmed and lower-cased: ``Alice`` and ``alice`` are one user."""
    return username.strip().lower()


def get_user(conn: Connection, user_id: str) -> User | None:
    """The user with this id, or ``None``."""
    row = conn.execute(sa.select(users).where(users.c.id == user_id)).mappings().first()
    return _user(row) if row else None


def find_user(conn: Connection, username: str) -> User | None:
    """The user with this username (case-insensitive), or ``None``."""
    row = conn.execute(
        sa.select(users).where(users.c.username == normalize_username(username))
    ).mappings().first()
    return _user(row) if row else None


def list_users(conn: Connection) -> list[User]:
    """Every user, by username."""
    return [_user(r) for r in conn.execute(sa.select(users).order_by(users.c.username)).mappings()]


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` after checking it is long enough."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少 {MIN_PASSWORD_LENGTH} 个字符",
                           f"the password needs at least {MIN_PASSWORD_LENGTH} characters",
                           "password")
    return _hasher.hash(password)


def parse_role(value: str) -> Role:
    """The :class:`Role` named ``value``, or :class:`AccountError`."""
    try:
        return Role(value.strip())
    except ValueError as err:
        names = ", ".join(r.value for r in Role)
        raise AccountError(f"未知角色 {value!r} (可选 {names})",
                           f"unknown role {value!r} (one of {names})", "role") from err


def _require(conn: Connection, username: str) -> User:
    user = find_user(conn, username)
    if user is None:
        raise AccountError(f"没有用户 {username}", f"no user {username}", "username")
    return user


def create_user(conn: Connection, now: datetime, actor: str, *, username: str,
                display_name: str, role: Role, password: str) -> User:
    """Add a user (audited ``user.create``); refuses a bad or taken username."""
    name = normalize_username(username)
    if not USERNAME_RE.match(name):
        raise AccountError("用户名须为 2–64 个字母、数字或 . _ -",
                           "a username is 2–64 letters, digits or . _ -", "username")
    if find_user(conn, name) is not None:
        raise AccountError(f"用户名 {name} 已存在", f"username {name} is taken", "username")
    display = display_name.strip() or name
    if len(display) > 200:
        raise AccountError("姓名太长", "the name is too long", "display_name")
    password_hash = hash_password(password)
    user_id = uuid.uuid4().hex
    conn.execute(users.insert().values(
        id=user_id, username=name, display_name=display, role=role.value,
        password_hash=password_hash, active=True, created_at=now))
    audit.record(conn, now, actor, "user.create", name, {"role": role.value})
    created = get_user(conn, user_id)
    assert created is not None
    return created


def set_role(conn: Connection, now: datetime, actor: str, username: str, role: Role) -> User:
    """Change a user's role (audited ``user.role``); their sessions end."""
    user = _require(conn, username)
    if user.role is Role.ADMIN and role is not Role.ADMIN:
        _keep_an_admin(conn, user)
    if user.role is not role:
        conn.execute(users.update().where(users.c.id == user.id).values(
            role=role.value, session_version=users.c.session_version + 1))
        audit.record(conn, now, actor, "user.role", user.username,
                     {"from": user.role.value, "to": role.value})
    changed = get_user(conn, user.id)
    assert changed is not None
    return changed


def _keep_an_admin(conn: Connection, leaving: User) -> None:
    others = conn.execute(sa.select(sa.func.count()).select_from(users).where(
        users.c.role == Role.ADMIN.value, users.c.active.is_(True), users.c.id != leaving.id)
    ).scalar_one()
    if not others:
        raise AccountError("不能移除最后一个管理员", "the last admin cannot be removed", "role")


def set_active(conn: Connection, now: datetime, actor: str, username: str, active: bool) -> None:
    """Enable or disable sign-in for a user (audited); disabling ends their sessions."""
    user = _require(conn, username)
    if not active and user.role is Role.ADMIN:
        _keep_an_admin(conn, user)
    if user.active != active:
        conn.execute(users.update().where(users.c.id == user.id).values(
            active=active, session_version=users.c.session_version + 1))
        audit.record(conn, now, actor, "user.enable" if active else "user.disable", user.username)


def reset_password(conn: Connection, now: datetime, actor: str, username: str,
                   password: str) -> None:
    """Set a new password, clear any lock-out, end the user's sessions (audited)."""
    user = _require(conn, username)
    conn.execute(users.update().where(users.c.id == user.id).values(
        password_hash=hash_password(password), failed_logins=0, locked_until=None,
        session_version=users.c.session_version + 1))
    audit.record(conn, now, actor, "user.password_reset", user.username)


# ---------------------------------------------------------------------------- TOTP
def new_totp_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def totp_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app imports."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="Packline")


def totp_step(secret: str, code: str, now: datetime) -> int | None:
    """The 30-second time step whose TOTP of ``secret`` is ``code`` (the one at ``now``, or
    one either side for clock drift), or ``None``."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def totp_matches(secret: str, code: str, now: datetime) -> bool:
    """Whether ``code`` is the TOTP of ``secret`` at ``now`` (±30 s for clock drift)."""
    return totp_step(secret, code, now) is not None


def enable_totp(conn: Connection, now: datetime, sealer: Sealer, user_id: str, secret: str,
                code: str) -> None:
    """Turn on the second factor once the user proved the app shows the right code."""
    user = get_user(conn, user_id)
    assert user is not None
    step = totp_step(secret, code, now)
    if step is None:
        raise AccountError("验证码不对, 请看手机上的验证器重新输入",
                           "wrong code: check the authenticator app and try again", "code")
    conn.execute(users.update().where(users.c.id == user_id).values(
        totp_secret_enc=sealer.seal(secret), totp_last_step=step))
    audit.record(conn, now, user.username, "user.totp_enable", user.username)


def disable_totp(conn: Connection, now: datetime, actor: str, username: str) -> None:
    """Remove a user's second factor (audited)."""
    user = _require(conn, username)
    conn.execute(users.update().where(users.c.id == user.id).values(totp_secret_enc=None))
    audit.record(conn, now, actor, "user.totp_disable", user.username)


def disable_own_totp(conn: Connection, now: datetime, sealer: Sealer, user_id: str,
                     code: str) -> None:
    """A user turns their own second factor off, proving it with a current code."""
    row = conn.execute(sa.select(users).where(users.c.id == user_id)).mappings().first()
    assert row is not None
    if row["totp_secret_enc"] is None:
        return
    if not totp_matches(sealer.unseal(row["totp_secret_enc"]), code, now):
        raise AccountError("验证码不对", "wrong code", "code")
    disable_totp(conn, now, row["username"], row["username"])


# ---------------------------------------------------------------------------- sign-in
@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(uuid.uuid4().hex)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _ip_throttled(conn: Connection, ip: str, now: datetime, policy: LoginPolicy) -> datetime | None:
    since = now - policy.ip_window
    rows: list[datetime] = list(conn.execute(
        sa.select(login_failures.c.at).where(login_failures.c.ip == ip, login_failures.c.at > since)
        .order_by(login_failures.c.at.desc()).limit(policy.ip_max_failures)
    ).scalars())
    if len(rows) < policy.ip_max_failures:
        return None
    return min(rows) + policy.ip_window  # when the oldest counted failure ages out


def _fail(conn: Connection, now: datetime, policy: LoginPolicy, ip: str, username: str,
          user: User | None, step: str) -> LoginResult:
    conn.execute(login_failures.delete().where(login_failures.c.at <= now - policy.ip_window))
    conn.execute(login_failures.insert().values(at=now, ip=ip[:64], username=username[:64]))
    audit.record(conn, now, username[:128] or "?", "login.failed", username[:200] or None,
                 {"ip": ip, "step": step})
    if user is None:
        return LoginResult(LoginStatus.BAD_CREDENTIALS)
    failed = conn.execute(
        users.update().where(users.c.id == user.id)
        .values(failed_logins=users.c.failed_logins + 1).returning(users.c.failed_logins)
    ).scalar_one()
    if failed >= policy.max_failed_logins:
        until = now + policy.lockout
        conn.execute(users.update().where(users.c.id == user.id).values(
            failed_logins=0, locked_until=until))
        audit.record(conn, now, "system", "user.locked", user.username,
                     {"ip": ip, "until": until.isoformat(), "failures": int(failed)})
        return LoginResult(LoginStatus.LOCKED, user, until)
    return LoginResult(LoginStatus.BAD_CREDENTIALS, user)


def _refusal(conn: Connection, now: datetime, policy: LoginPolicy, ip: str,
             user: User | None, username: str) -> LoginResult | None:
    until = _ip_throttled(conn, ip, now, policy)
    if until is not None:
        audit.record(conn, now, username[:128] or "?", "login.throttled", username[:200] or None,
                     {"ip": ip})
        return LoginResult(LoginStatus.THROTTLED, user, until)
    if user is not None and user.locked_until is not None and user.locked_until > now:
        audit.record(conn, now, user.username, "login.refused_locked", user.username, {"ip": ip})
        return LoginResult(LoginStatus.LOCKED, user, user.locked_until)
    return None


def _succeed(conn: Connection, now: datetime, user: User, ip: str) -> LoginResult:
    conn.execute(users.update().where(users.c.id == user.id).values(
        failed_logins=0, locked_until=None, last_login_at=now))
    audit.record(conn, now, user.username, "login", user.username, {"ip": ip})
    fresh = get_user(conn, user.id)
    return LoginResult(LoginStatus.OK, fresh)


def check_password(conn: Connection, now: datetime, policy: LoginPolicy, *, username: str,
                   password: str, ip: str) -> LoginResult:
    """First sign-in step: throttling, lock-out, then the password (every outcome audited)."""
    row = conn.execute(
        sa.select(users).where(users.c.username == normalize_username(username))
    ).mappings().first()
    user = _user(row) if row else None
    refused = _refusal(conn, now, policy, ip, user, normalize_username(username))
    if refused is not None:
        return refused
    if row is None or not row["active"]:
        _verify(_dummy_hash(), password)  # same time spent as for a real user
        return _fail(conn, now, policy, ip, normalize_username(username), user, "password")
    assert user is not None
    if not _verify(row["password_hash"], password):
        return _fail(conn, now, policy, ip, user.username, user, "password")
    if _hasher.check_needs_rehash(row["password_hash"]):
        conn.execute(users.update().where(users.c.id == user.id).values(
            password_hash=_hasher.hash(password)))
    if user.totp_enabled:
        return LoginResult(LoginStatus.NEEDS_TOTP, user)
    return _succeed(conn, now, user, ip)


def check_totp(conn: Connection, now: datetime, policy: LoginPolicy, sealer: Sealer, *,
               user_id: str, code: str, ip: str) -> LoginResult:
    """Second step for a user whose password was right: the TOTP code."""
    row = conn.execute(sa.select(users).where(users.c.id == user_id)).mappings().first()
    if row is None or not row["active"] or row["totp_secret_enc"] is None:
        return LoginResult(LoginStatus.BAD_CREDENTIALS)
    user = _user(row)
    refused = _refusal(conn, now, policy, ip, user, user.username)
    if refused is not None:
        return refused
    step = totp_step(sealer.unseal(row["totp_secret_enc"]), code, now)
    last = row["totp_last_step"]
    if step is None or (last is not None and step <= last):  # a used code never counts twice
        return _fail(conn, now, policy, ip, user.username, user, "totp")
    conn.execute(users.update().where(users.c.id == user.id).values(totp_last_step=step))
    return _succeed(conn, now, user, ip)
