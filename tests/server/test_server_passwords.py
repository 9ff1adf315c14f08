"""Password hashing at current guidance (scrypt N=2**17, r=8, p=1) with transparent rehash at login."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from fastapi.testclient import TestClient

ADMIN_PASSWORD = "admin-password-123"
API = "/api/2.0/mlflow"


def _legacy_hash(password: str) -> str:
    """A hash as the server stored them before issue 18 (N=2**14)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_new_hashes_use_current_guidance():
    from hf_mltrack.server.auth.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password

    stored = hash_password("a long enough passphrase")
    algo, n, r, p, salt, digest = stored.split("$")
    assert (algo, int(n), int(r), int(p)) == ("scrypt", 2**17, 8, 1)
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32
    assert verify_password("a long enough passphrase", stored)
    assert not verify_password("a long enough passphrasE", stored)
    assert not needs_rehash(stored)
    # the dummy hash checked for unknown users costs as much as a real one (no user enumeration by timing)
    assert DUMMY_HASH.split("$")[1:4] == [n, r, p]
    assert not verify_password("anything", DUMMY_HASH)


@pytest.mark.parametrize(
    "stored",
    ["scrypt$2097152$8$1$AAAA$AAAA", "scrypt$1000$8$1$AAAA$AAAA", "bcrypt$x", "scrypt$16384$8$1$!!$!!", ""],
    ids=["cost-too-high", "n-not-power-of-2", "other-algorithm", "bad-base64", "empty"],
)
def test_malformed_or_hostile_hashes_never_match(stored):
    from hf_mltrack.server.auth.passwords import verify_password

    assert verify_password("whatever-password", stored) is False


def test_legacy_hash_still_logs_in_and_is_rehashed(make_app, monkeypatch):
    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
    app = make_app(auth="basic-auth")
    manager = app.state.server.auth
    with TestClient(app) as admin:
        created = admin.post(
            f"{API}/users/create",
            json={"username": "carol", "password": "carol-password-1"},
            headers=_basic("admin", ADMIN_PASSWORD),
        )
        assert created.status_code == 200, created.text
    import sqlalchemy as sa

    users = manager.store.users
    with manager.store.engine.begin() as conn:
        conn.execute(
            users.update().where(users.c.username == "carol").values(password_hash=_legacy_hash("carol-password-1"))
        )
    assert manager.store.find_user("carol").password_hash.startswith("scrypt$16384$")

    with TestClient(app) as client:
        assert client.get(f"{API}/users/current", headers=_basic("carol", "carol-password-1")).status_code == 200
    upgraded = manager.store.find_user("carol").password_hash
    assert upgraded.startswith("scrypt$131072$8$1$")
    with manager.store.engine.connect() as conn:
        assert conn.execute(sa.select(users.c.password_hash).where(users.c.username == "carol")).scalar() == upgraded
    # the new hash still checks the same password, and a wrong one neither logs in nor rehashes
    manager._cache.clear()
    with TestClient(app) as client:
        assert client.get(f"{API}/users/current", headers=_basic("carol", "carol-password-1")).status_code == 200
        assert client.get(f"{API}/users/current", headers=_basic("carol", "wrong-password-1")).status_code == 401
    assert manager.store.find_user("carol").password_hash == upgraded
