"""Single sign-on settings (admin): the tenant's OpenID Connect provider and the identity links
that name rostered people by a verified ``email`` or provider ``sub``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from service.deps import CtxDep
from service.schemas import ErrorResponse

router = APIRouter(tags=["sso"])
ERRORS = {401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
          409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}


class ProviderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    issuer: str = Field(max_length=500, description="the provider's issuer identifier (https URL)")
    client_id: str = Field(min_length=1, max_length=500)
    client_secret: str | None = Field(None, max_length=2000,
                                      description="omit to keep the stored secret; never returned")
    match_claim: Literal["email", "sub"] = "email"
    discovery_url: str | None = Field(None, max_length=500,
                                      description="default: issuer + /.well-known/openid-configuration")
    label: str = Field("your school account", min_length=1, max_length=80)


class ProviderOut(BaseModel):
    issuer: str
    client_id: str
    match_claim: str
    discovery_url: str
    label: str
    has_client_secret: bool


class IdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["teacher", "student", "guardian"]
    person_id: str = Field(min_length=1, max_length=128, description="teacher, learner or guardian id")
    email: str | None = Field(None, max_length=320)
    sub: str | None = Field(None, max_length=320)


class IdentityOut(BaseModel):
    claim: str
    value: str
    role: str
    person_id: str
    source: str


@router.get("/v1/sso/provider", response_model=ProviderOut, responses=ERRORS,
            summary="The tenant's OpenID Connect provider (without its secret)")
def get_provider(ctx: CtxDep):
    return ctx.school.identity_provider(ctx.by)


@router.put("/v1/sso/provider", response_model=ProviderOut, responses=ERRORS,
            summary="Set the tenant's OpenID Connect provider (admin)")
def put_provider(ctx: CtxDep, body: ProviderIn):
    return ctx.school.set_identity_provider(ctx.by, body.model_dump(exclude_none=True))


@router.delete("/v1/sso/provider", status_code=204, responses=ERRORS, summary="Turn single sign-on off")
def delete_provider(ctx: CtxDep):
    ctx.school.delete_identity_provider(ctx.by)
    return Response(status_code=204)


@router.get("/v1/sso/identities", response_model=list[IdentityOut], responses=ERRORS,
            summary="Identity links: verified email / sub -> rostered person")
def list_identities(ctx: CtxDep):
    return ctx.school.identity_links(ctx.by)


@router.post("/v1/sso/identities", response_model=list[IdentityOut], status_code=201, responses=ERRORS,
             summary="Link an email and/or provider sub to a rostered teacher, student or guardian")
def link_identity(ctx: CtxDep, body: IdentityIn):
    return ctx.school.link_identity(ctx.by, body.role, body.person_id, email=body.email, sub=body.sub)


class RosterSyncOut(BaseModel):
    linked: int
    unchanged: int
    conflicts: int
    removed: int


@router.post("/v1/sso/identities/sync-roster", response_model=RosterSyncOut, responses=ERRORS,
             summary="Link the imported roster's emails and userIds to their people")
def sync_roster(ctx: CtxDep):
    return ctx.school.sync_roster_identities(ctx.by)


@router.delete("/v1/sso/identities/{claim}/{value}", status_code=204, responses=ERRORS,
               summary="Remove an identity link")
def unlink_identity(ctx: CtxDep, claim: Literal["email", "sub"], value: str):
    ctx.school.unlink_identity(ctx.by, claim, value)
    return Response(status_code=204)
