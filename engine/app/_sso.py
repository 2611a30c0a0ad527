"""Use cases of single sign-on (a part of ``SchoolApp``): the tenant's OpenID Connect provider,
identity links (a verified email or ``sub`` -> a rostered person) and signing a person in.

A sign-in never creates a person: an unknown claim value is refused (and audited). A person who
signs in gets the page session of their own *sign-in key* (a key of their role and id, minted
on first sign-in, kept in the store; revoking it ends their sessions). The same key serves LTI
launches (:mod:`engine.lti.usecases`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from engine.access import Caller, Principal, hash_key
from engine.app.pathwise import key_id_of
from engine.errors import ConflictError, NotFoundError, ValidationError
from engine.sso.config import IdentityProvider
from engine.sso.errors import SignInRefused
from engine.sso.identities import IDENTITY_KIND, IdentityLink, doc_id, normalize

ROSTER_SYNC_KIND = "sso_roster_sync"
ROSTER_SYNC_EVERY_S = 60.0  # a sign-in of an unknown person re-reads the roster at most this often
PROVIDER_KIND = "sso_provider"
PROVIDER_ID = "oidc"
SIGNIN_KEY_KIND = "signin_key"
# documents a tenant export leaves out: the provider's client secret, sign-in key hashes, the LTI
# tool's private keys and short-lived launch state (engine.lti: keys, messages, usecases)
SECRET_KINDS = (PROVIDER_KIND, SIGNIN_KEY_KIND, "lti_tool_key", "lti_state", "lti_nonce", "lti_deep_link")


class SsoUseCases:
    # ---------------------------------------------------------------- provider settings
    def set_identity_provider(self, by: Caller, rec: Mapping[str, Any]) -> dict:
        """Create or replace the tenant's OpenID Connect provider (admin). A missing
        ``client_secret`` keeps the stored one. Returns the settings without the secret."""
        self.allow(by, "keys:admin")
        rec = dict(rec)
        if not rec.get("client_secret"):
            old = self._provider_or_none()
            rec["client_secret"] = old.client_secret if old is not None else ""
        provider = IdentityProvider.from_record(rec)
        with self.store.transaction():
            self.store.put_document(PROVIDER_KIND, PROVIDER_ID, provider.to_record())
            self._audit(by, "write", "sso_provider", detail={"issuer": provider.issuer,
                                                             "match_claim": provider.match_claim})
        return provider.public()

    def identity_provider(self, by: Caller) -> dict:
        self.allow(by, "keys:admin")
        provider = self._provider_or_none()
        if provider is None:
            raise NotFoundError(f"tenant {self.tenant!r} has no identity provider; set one with "
                                "PUT /v1/sso/provider or 'pathwise sso set'")
        self._read(by, "sso_provider")
        return provider.public()

    def delete_identity_provider(self, by: Caller) -> None:
        self.allow(by, "keys:admin")
        with self.store.transaction():
            self.store.delete_document(PROVIDER_KIND, PROVIDER_ID)
            self._audit(by, "delete", "sso_provider")

    def sign_in_provider(self) -> IdentityProvider | None:
        """The provider (secret included) for the sign-in flow itself, which runs before
        anyone is authenticated; None when SSO is not set up."""
        return self._provider_or_none()

    def _provider_or_none(self) -> IdentityProvider | None:
        try:
            return IdentityProvider.from_record(self.store.get_document(PROVIDER_KIND, PROVIDER_ID).payload)
        except NotFoundError:
            return None

    # ---------------------------------------------------------------- identity links
    def link_identity(self, by: Caller, role: str, person_id: str, *, email: str | None = None,
                      sub: str | None = None, source: str = "admin") -> list[dict]:
        """Link an email address and/or a provider ``sub`` to a rostered person (roster:write).
        A value already linked to someone else is a conflict; re-linking the same is a no-op."""
        self.allow(by, "roster:write")
        if not email and not sub:
            raise ValidationError("give email and/or sub to link")
        links = [IdentityLink(c, v, role, person_id, source) for c, v in (("email", email), ("sub", sub)) if v]
        self.require_person(role, person_id)
        with self.store.transaction():
            for link in links:
                self.put_identity_link(link)
            self._audit(by, "write", "sso_identity", learner_id=person_id if role == "student" else None,
                        detail={"role": role, "claims": [k.claim for k in links]})
        return [link.to_record() for link in links]

    def put_identity_link(self, link: IdentityLink) -> None:
        """Store one link (no caller: roster imports and LTI sync call it inside their own
        audited transaction). ConflictError when the value names someone else."""
        key = f"{link.claim}:{link.value}"
        try:
            old = self.store.get_document(IDENTITY_KIND, key).payload
        except NotFoundError:
            old = None
        if old is not None and (old["role"], old["person_id"]) != (link.role, link.person_id):
            raise ConflictError(f"{link.claim} {link.value!r} is already linked to {old['role']} "
                                f"{old['person_id']!r}; unlink it first (pathwise sso unlink)")
        if old is None:
            self.store.put_document(IDENTITY_KIND, key, link.to_record())

    def unlink_identity(self, by: Caller, claim: str, value: str) -> None:
        self.allow(by, "roster:write")
        with self.store.transaction():
            self.store.delete_document(IDENTITY_KIND, doc_id(claim, value))
            self._audit(by, "delete", "sso_identity", detail={"claim": claim})

    def identity_links(self, by: Caller) -> list[dict]:
        self.allow(by, "roster:write")
        self._read(by, "sso_identity")
        return [d.payload for d in self.store.list_documents(IDENTITY_KIND)]

    def sync_roster_identities(self, by: Caller) -> dict:
        """Identity links from the imported OneRoster users: each student's, teacher's and
        guardian's ``email`` (and each ``userIds`` identifier, as a ``sub``) names them. A value
        linked to someone else is left alone (counted in ``conflicts``); roster links of people
        who left the roster are removed. Returns the counts."""
        self.allow(by, "roster:write")
        wanted = self._roster_links()
        have = {d.doc_id: d.payload for d in self.store.list_documents(IDENTITY_KIND)}
        counts = {"linked": 0, "unchanged": 0, "conflicts": 0, "removed": 0}
        with self.store.transaction():
            for key, link in wanted.items():
                old = have.get(key)
                if old is None:
                    self.store.put_document(IDENTITY_KIND, key, link.to_record())
                    counts["linked"] += 1
                else:
                    same = (old["role"], old["person_id"]) == (link.role, link.person_id)
                    counts["unchanged" if same else "conflicts"] += 1
            for key, old in have.items():
                if old.get("source") == "roster" and key not in wanted:
                    self.store.delete_document(IDENTITY_KIND, key)
                    counts["removed"] += 1
            self.store.put_document(ROSTER_SYNC_KIND, "last", {"at": time.time()})
            self._audit(by, "write", "sso_identity", detail={"op": "sync from roster", **counts})
        return counts

    def _roster_links(self) -> dict[str, IdentityLink]:
        from engine.app._roster import MIRROR_KIND
        from engine.roster import derive

        mirror: dict[str, dict[str, dict]] = {}
        for d in self.store.list_documents(MIRROR_KIND):
            mirror.setdefault(d.payload["file"], {})[d.payload["record"]["sourcedId"]] = d.payload["record"]
        if not mirror:
            return {}
        roles = {"student": "student", "teacher": "teacher", "guardian": "guardian"}
        links: dict[str, IdentityLink] = {}
        for pid, person in derive(mirror).people.items():
            role = roles.get(person["kind"])
            if role is None:
                continue
            values = [("email", person.get("email"))]
            values += [("sub", str(u).strip("{}").split(":", 1)[-1]) for u in person.get("user_ids") or []]
            for claim, value in values:
                try:
                    link = IdentityLink(claim, value or "", role, pid, "roster")
                except ValidationError:
                    continue
                links.setdefault(f"{claim}:{link.value}", link)
        return links

    def _refresh_roster_links(self) -> None:
        """On a sign-in miss: re-read the roster's identities unless done in the last minute."""
        try:
            last = self.store.get_document(ROSTER_SYNC_KIND, "last").payload["at"]
        except NotFoundError:
            last = 0.0
        if time.time() - last < ROSTER_SYNC_EVERY_S:
            return
        system = Caller(Principal(self.tenant, "admin", "sso", name="single sign-on"), via="sso")
        self.sync_roster_identities(system)

    def find_identity(self, claim: str, value: str) -> IdentityLink | None:
        try:
            rec = self.store.get_document(IDENTITY_KIND, doc_id(claim, value)).payload
        except (NotFoundError, ValidationError):
            return None
        return IdentityLink(rec["claim"], rec["value"], rec["role"], rec["person_id"], rec.get("source", "admin"))

    def require_person(self, role: str, person_id: str) -> None:
        """NotFoundError unless ``person_id`` is on this tenant's roster in ``role``."""
        view = self.view
        if role == "student":
            found = person_id in view.learners
        elif role == "guardian":
            found = person_id in view.guardians or self._stored("get_guardian", person_id)
        else:
            found = (any(person_id in c.teachers for c in view.classes.values())
                     or self._stored("get_teacher", person_id))
        if not found:
            raise NotFoundError(f"{role} {person_id!r} is not on the roster of tenant "
                                f"{self.tenant!r}; import the roster first")

    def _stored(self, getter: str, entity_id: str) -> bool:
        try:
            getattr(self.store, getter)(entity_id)
            return True
        except NotFoundError:
            return False

    # ---------------------------------------------------------------- signing in
    def sso_sign_in(self, claims: Mapping[str, Any]) -> tuple[str, str, str, str]:
        """``(tenant, key hash, role, person id)`` of the rostered person named by the verified
        ID-token ``claims`` (the provider's match claim); :class:`SignInRefused` otherwise."""
        provider = self._provider_or_none()
        if provider is None:
            raise SignInRefused(f"single sign-on is not set up for {self.tenant!r}")
        claim = provider.match_claim
        value = claims.get(claim)
        if claim == "email" and claims.get("email_verified") is False:
            self._refused("email_not_verified")
            raise SignInRefused(f"your identity provider has not verified the email {value!r}; "
                                "verify it there, then sign in again")
        link = self._match(claim, value)
        if link is None:
            self._refresh_roster_links()
            link = self._match(claim, value)
        if link is None:
            self._refused("unknown_person")
            shown = value if claim == "email" else "your account"
            raise SignInRefused(
                f"{shown} is not on the roster of this school, so there is no Pathwise account to "
                "sign in to (Pathwise never creates accounts from a sign-in); ask your school's "
                "administrator to add you to the roster")
        try:
            self.require_person(link.role, link.person_id)
        except NotFoundError:
            self._refused("left_roster")
            raise SignInRefused("your account is no longer on this school's roster; ask your "
                                "school's administrator") from None
        key_hash = self.signin_key(link.role, link.person_id)
        by = Caller(self._person_principal(link.role, link.person_id, key_hash), via="page")
        self._audit(by, "login", "session", learner_id=link.person_id if link.role == "student" else None,
                    detail={"method": "oidc", "claim": claim})
        return self.tenant, key_hash, link.role, link.person_id

    def _match(self, claim: str, value: Any) -> IdentityLink | None:
        try:
            return None if not isinstance(value, str) else self.find_identity(claim, normalize(claim, value))
        except ValidationError:
            return None

    def _refused(self, reason: str) -> None:
        self.store.append_audit("sso", "login_refused", "session", {"method": "oidc", "reason": reason})

    def _person_principal(self, role: str, person_id: str, key_hash: str) -> Principal:
        field = {"teacher": "teacher_id", "student": "learner_id", "guardian": "guardian_id"}[role]
        return Principal(tenant=self.tenant, role=role, key_id=key_id_of(key_hash), **{field: person_id})

    def signin_key(self, role: str, person_id: str) -> str:
        """The hash of ``person_id``'s sign-in key (a live key of ``role`` for them), minted on
        first use; a revoked one is replaced. The key itself is never shown to anyone."""
        ref = f"{role}:{person_id}"
        try:
            key_hash = self.store.get_document(SIGNIN_KEY_KIND, ref).payload["key_hash"]
            if self.home.store.find_api_key(key_hash) is not None:
                return key_hash
        except NotFoundError:
            pass
        _, key = self.setup_key(role, name=f"sign-in of {person_id}",
                                teacher_id=person_id if role == "teacher" else None,
                                subject=None if role == "teacher" else person_id)
        key_hash = hash_key(key)
        self.store.put_document(SIGNIN_KEY_KIND, ref, {"key_hash": key_hash,
                                                       "learner_id": person_id if role == "student" else None})
        return key_hash
