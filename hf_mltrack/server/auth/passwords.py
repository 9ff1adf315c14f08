"""Password hashing with scrypt (a memory-hard slow hash from the standard library).

Stored form: ``scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>``, so the cost can be raised later
without invalidating existing hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from ...exceptions import InvalidParameterError

MIN_PASSWORD_LENGTH = 12
_N, _R, _P = 2**14, 8, 1
_DKLEN = 32


def check_password_strength(password: object, username: str | None = None) -> str:
    """Refuse empty, short or trivially guessable passwords; return the password."""
    if not isinstance(password, str) or not password:
        raise InvalidParameterError("The password is empty: give a password of at least 12 characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidParameterError(
            f"The password has {len(password)} characters: use at least {MIN_PASSWORD_LENGTH} "
            "(a passphrase of a few words works well)"
        )
    if username and password.strip().lower() == username.strip().lower():
        raise InvalidParameterError("The password equals the user name: choose another one")
    if len(set(password)) < 4:
        raise InvalidParameterError("The password repeats too few characters: choose a less guessable one")
    return password


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN, maxmem=64 * 1024 * 1024
    )
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the stored hash (constant time; malformed hashes never match)."""
    try:
        algo, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if algo != "scrypt":
            return False
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
        digest = hashlib.scrypt(
            password.encode(),
            salt=salt,
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=128 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)
