"""Pydantic models of the xAPI settings API: the verb table, the identity map and the
stored-not-applied statements (the statements themselves are free JSON, checked by
engine.app.xapi)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from service.schemas import Strict


class XapiVerbRule(BaseModel):
    defaults: dict[str, str] = Field(
        description="Built-in verb table: verb IRI -> attempt | graded | ignore"
    )
    overrides: dict[str, str] = Field(description="This tenant's entries (win over the defaults)")
    effective: dict[str, str] = Field(description="The table applied to new statements")


class XapiVerbUpdate(Strict):
    verbs: dict[str, Literal["attempt", "graded", "ignore"]] = Field(
        description="Replaces the tenant's overrides: verb IRI -> attempt | graded | ignore"
    )


class XapiIdentityEntry(Strict):
    agent: dict[str, Any] = Field(
        description="An xAPI Agent with exactly one of account {homePage, name}, "
        "mbox, mbox_sha1sum, openid"
    )
    learner_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The learner; null removes the entry",
    )


class XapiIdentityUpdate(Strict):
    entries: list[XapiIdentityEntry] = Field(default_factory=list, max_length=10000)
    roster_home_pages: list[str] | None = Field(
        default=None,
        description="Accounts on these homePages name learner ids directly (replaces the list)",
    )


class XapiIdentityResult(BaseModel):
    mapped: int
    removed: int


class XapiIdentityOut(BaseModel):
    identity: str = Field(
        description="account:<homePage>|<name>, mbox:mailto:<address>, mbox_sha1sum:<hex> or openid:<uri>"
    )
    learner_id: str | None


class XapiIdentityMap(BaseModel):
    roster_home_pages: list[str]
    entries: list[XapiIdentityOut]


class XapiPendingOut(BaseModel):
    id: str = Field(description="Statement id")
    note: str | None = Field(
        description="Why it is not applied, e.g. 'stored, not applied: unknown learner X'"
    )
    identity: str | None = Field(
        description="The actor's identity key (account:homePage|name, mbox:mailto:...)"
    )
    activity: str | None = Field(description="The statement's object id")
    stored: str | None = None


class XapiApplied(BaseModel):
    applied: int = Field(description="Statements applied now, in time order")


class XapiStatementResult(BaseModel):
    statements: list[dict[str, Any]] = Field(description="Statements, newest first unless ascending=true")
    more: str = Field(description="Relative URL of the next page; empty when there is none")


class XapiAbout(BaseModel):
    version: list[str] = Field(description="xAPI versions this LRS accepts")
    extensions: dict[str, Any] = Field(default_factory=dict)
