"""The guardian's page: a weekly summary of each linked child in plain words (what they worked
on, growth, what is next, the teacher's notes, the child's goals) and a form to add a note to
the child's profile; in English or Spanish."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from service.web.student import back, check_csrf, guard, language, page_ctx, render

router = APIRouter(include_in_schema=False)
ROLES = ("guardian",)


@router.get("/family", response_class=HTMLResponse)
@guard
def family_page(request: Request):
    ctx = page_ctx(request, ROLES)
    children = ctx.school.my_children(ctx.by)
    if len(children) == 1:
        return back(f"/family/{children[0]['id']}")
    return render(request, "guardian_children.html", ctx, language(request), children=children)


@router.get("/family/{learner_id}", response_class=HTMLResponse)
@guard
def child_page(request: Request, learner_id: str, done: str = ""):
    ctx = page_ctx(request, ROLES)
    summary = ctx.school.weekly_summary(ctx.by, learner_id)
    children = ctx.school.my_children(ctx.by)
    return render(request, "guardian.html", ctx, language(request), s=summary, children=children, done=done)


@router.post("/family/{learner_id}/note")
@guard
def add_note(request: Request, learner_id: str, text: str = Form(""), csrf: str = Form("")):
    check_csrf(request, csrf)
    ctx = page_ctx(request, ROLES)
    ctx.school.add_family_note(ctx.by, learner_id, text)
    return back(f"/family/{learner_id}?done=noted#notes")


@router.post("/family/{learner_id}/availability")
@guard
def set_availability(request: Request, learner_id: str, text: str = Form(""), csrf: str = Form("")):
    check_csrf(request, csrf)
    ctx = page_ctx(request, ROLES)
    lines = [t.strip() for t in text.splitlines() if t.strip()]
    ctx.school.write_profile(ctx.by, learner_id, {"home_availability": lines})
    return back(f"/family/{learner_id}?done=saved#home")
