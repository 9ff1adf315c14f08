"""The run-alias attack of issue 18, request by request: the closing note's table.

    PYTHONPATH=. python tests/server/attack_table.py

A user with NO_PERMISSIONS on the victim's experiment sends each alias form of the victim's run to every
route that acts on a run (both prefixes). A request "failed open" when it answered 2xx with the victim's
data or changed it (the victim's data is read back by the admin after every write). Not a test (pytest
does not collect it): `test_server_boundary.py` asserts the same and more on every route.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

from test_server_boundary import (
    ADMIN_PASSWORD,
    SECRETS,
    _alias_forms,
    _payload,
    _query,
    build_world,
    snapshot,
)

RUN_ROUTES = [
    ("GET", "runs/get"),
    ("GET", "metrics/get-history"),
    ("GET", "artifacts/list"),
    ("POST", "runs/log-batch"),
    ("POST", "runs/log-metric"),
    ("POST", "runs/log-parameter"),
    ("POST", "runs/set-tag"),
    ("POST", "runs/delete-tag"),
    ("POST", "runs/update"),
    ("POST", "runs/delete"),
    ("POST", "runs/restore"),
]


def main() -> None:
    from hf_mltrack.server import create_app

    os.environ["HF_MLTRACK_AUTH_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    rows: dict[str, dict[str, int]] = {}
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        for form_index in range(len(_alias_forms({"run": "", "bob_run": "", "trace": ""}))):
            app = create_app(
                f"sqlite:///{tmp}/f{form_index}.db",
                artifacts_destination=f"{tmp}/art{form_index}",
                allowed_hosts=["testserver"],
                auth="basic-auth",
                auth_default_permission="NO_PERMISSIONS",
            )
            w = build_world(app)
            form, run_fields, trace_fields = _alias_forms(w)[form_index]
            row = rows.setdefault(form, {"tried": 0, "refused": 0, "answered": 0, "failed_open": 0, "5xx": 0})
            for prefix in ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow"):
                for method, route in RUN_ROUTES:
                    before = snapshot(w)
                    n += 1  # fresh values: a second write that got through changes the data again
                    payload: dict[str, Any] = _payload(w, run_fields, trace_fields, n)
                    kwargs: dict[str, Any] = {"params": _query(payload)}
                    if method == "POST":
                        kwargs["content"] = json.dumps(payload)
                        kwargs["headers"] = {"Content-Type": "application/json"}
                    r = w["bob"].request(method, f"{prefix}/{route}", **kwargs)
                    row["tried"] += 1
                    if r.status_code >= 500:
                        row["5xx"] += 1
                    elif r.status_code in (400, 403, 404):
                        row["refused"] += 1
                    elif any(s in r.text for s in SECRETS) or snapshot(w) != before:
                        row["failed_open"] += 1
                    else:
                        row["answered"] += 1  # 2xx, but nothing of the victim's shown or changed
    print("| alias form | tried | refused | answered 2xx, victim untouched | failed open | 5xx |")
    print("|---|---|---|---|---|---|")
    for form, row in rows.items():
        cells = [row[k] for k in ("tried", "refused", "answered", "failed_open", "5xx")]
        print(f"| {form} | " + " | ".join(str(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
