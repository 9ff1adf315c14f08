"""Basic-auth for the tracking server (``hf-mltrack server --app-name basic-auth``).

The request-time step (authentication, identity resolution, authorization) is
`hf_mltrack.server.boundary.Boundary`; the route declarations are `policy.POLICIES`.
"""

from __future__ import annotations

from .manager import AuthManager
from .policy import POLICIES, Rule, Target, rule_for

__all__ = ["POLICIES", "AuthManager", "Rule", "Target", "rule_for"]
