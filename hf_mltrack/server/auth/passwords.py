"""Password hashing with scrypt (a memory-hard slow hash from the standard library).

Stored form: ``scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>``, so the cost can be raised later
without invalidating existing hashes. The cost is OWASP's current guidance for scrypt: N=2**17, r=8,
p=1 (128 MiB and a few hundred milliseconds per hash). Hashes stored with a lower cost still verify;
`needs_rehash` tells the login path to store a new hash at the current cost (transparent rehash).
At most `MAX_CONCURRENT_HASHES` hashes run at once, bounding the memory a burst of logins can take.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading

from ...exceptions import InvalidParameterError

MIN_PASSWORD_LENGTH = 12
_N, _R, _P = 2**17, 8, 1
_DKLEN = 32
#: Largest stored cost accepted (a corrupted row must not make one login allocate gigabytes).
_MAX_N = 2**20
MAX_CONCURRENT_HASHES = 4
_HASHING = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    if not (1 < n <= _MAX_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        raise ValueError(f"scrypt parameters out of range: n={n}, r={r}, p={p}")
    with _HASHING:
        return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=129 * r * n * p + 2**22)


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
    digest = _scrypt(password, salt, _N, _R, _P, _DKLEN)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the stored hash (constant time; malformed hashes never match)."""
    try:
        algo, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if algo != "scrypt":
            return False
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
        if not 16 <= len(expected) <= 64:
            return False
        digest = _scrypt(password, salt, int(n), int(r), int(p), len(expected))
    except (ValueError, TypeError, MemoryError):
        return False
    return hmac.compare_digest(digest, expected)


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was hashed with less than the current cost (then rehash it at the next login)."""
    try:
        algo, n, r, p, _salt, _digest = stored.split("$")
        return algo != "scrypt" or int(n) < _N or int(r) < _R or int(p) < _P
    except ValueError:
        return True


#: A hash at the current cost that matches no password: verifying against it when a user does not exist
#: takes as long as a real check, so response times do not reveal which users exist.
DUMMY_HASH = f"scrypt${_N}${_R}${_P}$AAAAAAAAAAAAAAAAAAAAAA==${'A' * 43}="
