"""Use cases of the LTI 1.3 tool (a part of ``SchoolApp``): platform registration and the
tool's keys (admins), login initiation and launch (the platform's signed messages; no Pathwise
credential yet), deep linking (a teacher places content in a course); AGS grade passback and
NRPS roster sync are in :mod:`engine.lti._advantage`.

Stored documents: ``lti_platform`` (registrations), ``lti_tool_key`` (keys), ``lti_state`` /
``lti_nonce`` (launch checks), ``lti_person`` (platform + LMS user id -> rostered person),
``lti_context`` (platform + course -> class, with the course's AGS and NRPS endpoints),
``lti_deep_link`` (a deep-linking request waiting for the teacher's choice, 10 minutes).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

import httpx

from engine.access import Caller, Principal
from engine.app.pathwise import key_id_of
from engine.errors import NotFoundError, ValidationError
from engine.lti import grades, messages
from engine.lti._advantage import PERSON_KIND, AdvantageUseCases
from engine.lti.errors import LaunchRefused
from engine.lti.keys import ToolKeys
from engine.lti.registration import PLATFORM_KIND, Platform

DEEP_LINK_KIND = "lti_deep_link"
DEEP_LINK_TTL_S = 600


class LtiUseCases(AdvantageUseCases):
    # ---------------------------------------------------------------- registration (admin)
    def register_platform(self, by: Caller, rec: Mapping[str, Any]) -> dict:
        """Create or replace a platform registration (issuer + client id identify it)."""
        self.allow(by, "keys:admin")
        platform = Platform.from_record(rec)
        with self.store.transaction():
            self.store.put_document(PLATFORM_KIND, platform.id, platform.to_record())
            self._audit(by, "write", "lti_platform", resource_id=platform.id,
                        detail={"issuer": platform.issuer, "deployments": len(platform.deployment_ids)})
        self.tool_keys().ensure()
        return platform.to_record()

    def lti_platforms(self, by: Caller) -> list[dict]:
        self.allow(by, "keys:admin")
        self._read(by, "lti_platform")
        return [d.payload for d in self.store.list_documents(PLATFORM_KIND)]

    def delete_platform(self, by: Caller, platform_id: str) -> None:
        self.allow(by, "keys:admin")
        with self.store.transaction():
            self.store.delete_document(PLATFORM_KIND, platform_id)
            self._audit(by, "delete", "lti_platform", resource_id=platform_id)

    def _platforms(self) -> list[Platform]:
        return [Platform.from_record(d.payload) for d in self.store.list_documents(PLATFORM_KIND)]

    def _platform(self, platform_id: str) -> Platform:
        try:
            return Platform.from_record(self.store.get_document(PLATFORM_KIND, platform_id).payload)
        except NotFoundError:
            raise NotFoundError(f"LTI platform {platform_id!r} is not registered in tenant {self.tenant!r}; "
                                "see 'pathwise lti list'") from None

    # ---------------------------------------------------------------- tool keys
    def tool_keys(self) -> ToolKeys:
        return ToolKeys(self.store)

    def tool_jwks(self) -> dict:
        """The tool's public key set (public by design: platforms fetch it). Keys are made when
        the first platform is registered; before that there is no tool here (NotFoundError)."""
        jwks = self.tool_keys().jwks()
        if not jwks["keys"]:
            raise NotFoundError(f"tenant {self.tenant!r} has no LTI tool yet; register a platform first")
        return jwks

    def rotate_tool_key(self, by: Caller) -> dict:
        """A new signing key; the previous one stays published for the grace period."""
        self.allow(by, "keys:admin")
        with self.store.transaction():
            kid = self.tool_keys().rotate()
            self._audit(by, "write", "lti_tool_key", resource_id=kid)
        return {"active": kid, "keys": self.tool_keys().listing()}

    def tool_key_listing(self, by: Caller) -> list[dict]:
        self.allow(by, "keys:admin")
        return self.tool_keys().listing()

    # ---------------------------------------------------------------- login and launch
    def lti_login(self, *, iss: str, login_hint: str, target_link_uri: str, redirect_uri: str,
                  client_id: str | None = None, lti_message_hint: str | None = None,
                  lti_deployment_id: str | None = None) -> str:
        """Third-party login initiation: the platform authorization URL to redirect to."""
        mine = [p for p in self._platforms() if p.issuer == (iss or "").rstrip("/")
                and (not client_id or p.client_id == client_id)]
        if not mine:
            raise LaunchRefused(f"no LTI platform is registered with issuer {iss!r}"
                                + (f" and client id {client_id!r}" if client_id else "")
                                + "; an admin registers it with 'pathwise lti register'")
        if len(mine) > 1:
            raise LaunchRefused(f"issuer {iss!r} has several registrations; the platform must send client_id")
        return messages.start_login(self.store, mine[0], login_hint=login_hint, target_link_uri=target_link_uri,
                                    redirect_uri=redirect_uri, lti_message_hint=lti_message_hint,
                                    deployment_id=lti_deployment_id)

    def lti_launch(self, id_token: str, state: str, *, http: httpx.Client | None = None) -> dict:
        """Validate a launch and resolve the rostered person. Returns ``tenant``, ``key_hash``
        (their page session), ``role``, ``person_id``, ``class_id`` (the course's class or
        None), ``target`` (``custom.pathwise_target``) and ``deep_link`` (a token when this is
        a deep-linking request)."""
        platform = messages.find_platform(id_token, self._platforms())
        launch = messages.verify_launch(self.store, platform, id_token, state, self._platform_jwks(platform, http))
        class_id = self._remember_context(launch) if launch.context_id else None
        person = self._lti_person(platform, launch.sub)
        if (person is None or class_id is None) and launch.nrps_url and launch.context_id:
            class_id = self._sync_context(platform, launch.context_id, http=http)  # roster from the course
            person = self._lti_person(platform, launch.sub)
        if person is None:
            person = self._link_by_email(platform, launch)
        if person is None or person[0] != launch.role:
            raise LaunchRefused(
                f"the {launch.role} {launch.name or launch.sub!r} of this course is not on Pathwise's roster; "
                "an admin syncs the course roster ('pathwise lti sync') or imports the school roster")
        role, person_id = person
        key_hash = self.signin_key(role, person_id)
        field = {"teacher": "teacher_id", "student": "learner_id", "guardian": "guardian_id"}[role]
        by = Caller(Principal(self.tenant, role, key_id_of(key_hash), **{field: person_id}), via="lti")
        self._audit(by, "login", "session", learner_id=person_id if role == "student" else None,
                    detail={"method": "lti", "platform": platform.id, "message": launch.message_type})
        out = {"tenant": self.tenant, "key_hash": key_hash, "role": role, "person_id": person_id,
               "class_id": class_id, "target": str(launch.custom.get("pathwise_target") or ""),
               "skill_id": str(launch.custom.get("pathwise_skill") or ""), "deep_link": None}
        if launch.message_type == messages.DEEP_LINKING:
            if role != "teacher":
                raise LaunchRefused("only teachers place Pathwise content in a course (deep linking)")
            out["deep_link"] = self._park_deep_link(platform, launch, person_id, class_id)
        return out

    def _platform_jwks(self, platform: Platform, http: httpx.Client | None) -> dict:
        try:
            resp = (http or httpx).get(platform.jwks_url, timeout=10.0)
            resp.raise_for_status()
            return resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise LaunchRefused(f"could not read platform {platform.issuer!r}'s keys at {platform.jwks_url}: "
                                f"{exc}") from None

    def _lti_person(self, platform: Platform, sub: str) -> tuple[str, str] | None:
        try:
            rec = self.store.get_document(PERSON_KIND, f"{platform.id}:{sub}").payload
        except NotFoundError:
            return None
        return rec["role"], rec["person_id"]

    def _link_by_email(self, platform: Platform, launch: messages.Launch) -> tuple[str, str] | None:
        link = self.find_identity("email", launch.email) if "@" in launch.email else None
        if link is None or link.role != launch.role:
            return None
        self.put_lti_person(platform, launch.sub, link.role, link.person_id)
        return link.role, link.person_id

    def _park_deep_link(self, platform: Platform, launch: messages.Launch, teacher_id: str,
                        class_id: str | None) -> str:
        token = secrets.token_urlsafe(24)
        self.store.put_document(DEEP_LINK_KIND, token, {
            "platform_id": platform.id, "teacher_id": teacher_id, "class_id": class_id,
            "context_id": launch.context_id, "deployment_id": launch.deployment_id,
            "settings": dict(launch.deep_linking), "expires": time.time() + DEEP_LINK_TTL_S})
        return token

    # ---------------------------------------------------------------- deep linking
    def deep_link_options(self, by: Caller, token: str) -> dict:
        """What the teacher may place: today's playlist and each skill that has activities."""
        rec = self._deep_link(by, token)
        skills = sorted({sid for a in self.view.activities.values() for sid, _ in a.skills})
        titles = {s.id: getattr(s, "title", s.id) for s in self.view.skills.values()}
        return {"class_id": rec["class_id"], "title": rec["settings"].get("title") or "",
                "options": [{"value": "playlist", "title": "Today's playlist"}]
                + [{"value": f"skill:{sid}", "title": f"{titles.get(sid, sid)} ({sid}): activities"}
                   for sid in skills]}

    def _deep_link(self, by: Caller, token: str) -> dict:
        try:
            rec = self.store.get_document(DEEP_LINK_KIND, token or "-").payload
        except NotFoundError:
            raise NotFoundError("this placement request is unknown or already answered; start it again "
                                "from the course") from None
        if rec["expires"] < time.time():
            raise ValidationError("this placement request expired (10 minutes); start it again from the course")
        if by.principal.teacher_id != rec["teacher_id"]:
            raise LaunchRefused("this placement request belongs to another teacher")
        return rec

    def deep_link_response(self, by: Caller, token: str, choice: str, launch_url: str) -> tuple[str, str]:
        """``(deep_link_return_url, signed JWT)`` placing ``choice`` (``playlist`` or
        ``skill:<id>``) in the course, with its gradebook line item."""
        rec = self._deep_link(by, token)
        if choice == "playlist":
            item = {"type": "ltiResourceLink", "title": "Today's playlist", "url": launch_url,
                    "text": "Each student's own Pathwise playlist for today",
                    "custom": {"pathwise_target": "playlist"}}
            resource = grades.PROGRESS
        elif choice.startswith("skill:") and any(choice[6:] == s for a in self.view.activities.values()
                                                 for s, _ in a.skills):
            sid = choice[6:]
            item = {"type": "ltiResourceLink", "title": f"Pathwise: {sid} activities", "url": launch_url,
                    "custom": {"pathwise_target": "skill", "pathwise_skill": sid}}
            resource = grades.SKILL_PREFIX + sid
        else:
            raise ValidationError(f"choice {choice!r} is not offered; pick 'playlist' or 'skill:<skill id>'")
        label = next(i["label"] for i in grades.course_line_items(rec["context_id"] or "course",
                                                                  [resource.removeprefix(grades.SKILL_PREFIX)])
                     if i["resourceId"] == resource)
        item["lineItem"] = {"scoreMaximum": grades.SCORE_MAXIMUM, "label": label, "resourceId": resource,
                            "tag": "pathwise"}
        platform = self._platform(rec["platform_id"])
        launch = messages.Launch(platform_id=platform.id, deployment_id=rec["deployment_id"],
                                 message_type=messages.DEEP_LINKING, sub="", role="teacher",
                                 deep_linking=rec["settings"])
        with self.store.transaction():
            self.store.delete_document(DEEP_LINK_KIND, token)
            if resource.startswith(grades.SKILL_PREFIX) and rec["context_id"]:
                self._place_skill(platform, rec["context_id"], resource.removeprefix(grades.SKILL_PREFIX))
            self._audit(by, "write", "lti_deep_link", resource_id=rec["class_id"], detail={"choice": choice})
        jwt_ = messages.deep_linking_response(platform, launch, [item], self.tool_keys().sign)
        return rec["settings"].get("deep_link_return_url", ""), jwt_

