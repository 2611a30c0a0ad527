"""The tool's RSA signing keys, kept in the store (documents of kind ``lti_tool_key``).

One key is *active* (signs deep-linking responses and service-token assertions); after a
rotation the previous keys stay *published* in the JWKS for :data:`RETIRED_GRACE_S` so that
platforms holding a cached key set still verify messages signed just before the rotation;
then they are dropped. Private keys never leave this module: nothing returns them, the JWKS
holds public parameters only.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

KEY_KIND = "lti_tool_key"
RSA_BITS = 2048
ALG = "RS256"
RETIRED_GRACE_S = 7 * 24 * 3600  # a retired key stays in the JWKS this long (seconds)


def _new_key(now: float) -> tuple[str, dict[str, Any]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    kid = f"pw-{int(now)}-{secrets.token_hex(4)}"
    public = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    public.update(kid=kid, alg=ALG, use="sig")
    return kid, {"private_pem": pem, "public_jwk": public, "status": "active",
                 "created_at": now, "retired_at": None}


class ToolKeys:
    """The key set of one tenant's tool, over its tenant store (``store``)."""

    def __init__(self, store: Any, clock=time.time) -> None:
        self.store, self._clock = store, clock

    def _all(self) -> list[tuple[str, Mapping[str, Any]]]:
        return [(d.doc_id, d.payload) for d in self.store.list_documents(KEY_KIND)]

    def _active(self) -> tuple[str, Mapping[str, Any]] | None:
        live = [(kid, p) for kid, p in self._all() if p["status"] == "active"]
        return max(live, key=lambda kp: kp[1]["created_at"]) if live else None

    def ensure(self) -> str:
        """The active key id (a key is created on first use)."""
        found = self._active()
        if found is not None:
            return found[0]
        return self.rotate()

    def rotate(self) -> str:
        """Make a new active key; the old active key is retired (still published for the
        grace period). Returns the new key id."""
        now = self._clock()
        kid, payload = _new_key(now)
        with self.store.transaction():
            for old_kid, p in self._all():
                if p["status"] == "active":
                    self.store.put_document(KEY_KIND, old_kid, {**p, "status": "retired", "retired_at": now})
            self.store.put_document(KEY_KIND, kid, payload, expected_version=0)
        return kid

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """``{"keys": [...]}``: the public JWK of the active key and of keys retired less than
        the grace period ago (newest first)."""
        now = self._clock()
        keys = [(p["status"] != "active", -p["created_at"], -(p["retired_at"] or 0), p["public_jwk"])
                for _, p in self._all()
                if p["status"] == "active" or now - (p["retired_at"] or now) < RETIRED_GRACE_S]
        return {"keys": [k[-1] for k in sorted(keys, key=lambda k: k[:3])]}  # active, then newest

    def listing(self) -> list[dict[str, Any]]:
        """Key ids, status and dates (what an admin may see; never private material)."""
        now = self._clock()
        return [{"kid": kid, "status": p["status"], "created_at": p["created_at"],
                 "retired_at": p["retired_at"],
                 "published": p["status"] == "active" or now - (p["retired_at"] or now) < RETIRED_GRACE_S}
                for kid, p in sorted(self._all(), key=lambda kp: -kp[1]["created_at"])]

    def sign(self, claims: Mapping[str, Any]) -> str:
        """``claims`` as a JWT signed by the active key (header ``kid``)."""
        kid = self.ensure()
        pem = self.store.get_document(KEY_KIND, kid).payload["private_pem"]
        return jwt.encode(dict(claims), pem, algorithm=ALG, headers={"kid": kid})
