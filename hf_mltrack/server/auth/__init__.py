"""Basic-auth for the tracking server (``hf-mltrack server --app-name basic-auth``)."""

from __future__ import annotations

from .manager import AuthManager, AuthMiddleware
from .policy import POLICIES, Rule, rule_for

__all__ = ["POLICIES", "AuthManager", "AuthMiddleware", "Rule", "rule_for"]
