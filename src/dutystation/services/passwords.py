"""Passwords: the length policy, Argon2id hashing (argon2-cffi) and verification.

Argon2id is what OWASP's password storage guidance and RFC 9106 recommend; each hash
carries its own parameters, so raising the cost in settings upgrades a hash at its owner's
next successful login (``needs_rehash``) and never breaks an old one. Verifying against a
dummy hash when a username is unknown makes that answer take as long as a wrong password.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from dutystation.errors import ConfigError
from dutystation.settings import Settings

# Longer inputs only cost hashing time; nobody types a longer passphrase.
MAX_PASSWORD_LENGTH = 1024


@cache
def _hasher(memory_kib: int, time_cost: int) -> PasswordHasher:
    return PasswordHasher(memory_cost=memory_kib, time_cost=time_cost)


def hasher(settings: Settings) -> PasswordHasher:
    return _hasher(settings.password_hash_memory_kib, settings.password_hash_time_cost)


@cache
def _dummy_hash(memory_kib: int, time_cost: int) -> str:
    return _hasher(memory_kib, time_cost).hash("no user has this password, it is a dummy")


def check_policy(password: str, username: str, settings: Settings) -> None:
    """Raise ConfigError (one sentence, never the password) unless ``password`` may be
    used. Length is the rule (NIST SP 800-63B): no composition rules."""
    if len(password) < settings.password_min_length:
        raise ConfigError(
            f"the password is too short: use at least {settings.password_min_length} characters"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ConfigError(f"the password is too long: use at most {MAX_PASSWORD_LENGTH} characters")
    if password.strip().lower() == username.lower():
        raise ConfigError("the password may not be the username")


def hash_password(password: str, settings: Settings) -> str:
    return hasher(settings).hash(password)


def verify_password(stored_hash: str | None, password: str, settings: Settings) -> bool:
    """Whether ``password`` matches ``stored_hash``. With no stored hash (unknown user, or an
    account without a password) a dummy hash is verified so the answer takes as long."""
    if stored_hash is None or len(password) > MAX_PASSWORD_LENGTH:
        _safe_verify(
            _dummy_hash(settings.password_hash_memory_kib, settings.password_hash_time_cost),
            password[:MAX_PASSWORD_LENGTH],
            settings,
        )
        return False
    return _safe_verify(stored_hash, password, settings)


def needs_rehash(stored_hash: str, settings: Settings) -> bool:
    return hasher(settings).check_needs_rehash(stored_hash)


def _safe_verify(stored_hash: str, password: str, settings: Settings) -> bool:
    try:
        return hasher(settings).verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
