"""The dashboard's routes, one router for ``api.app.create_app`` to include at the root.
Each page area is a module of its own; every route renders errors as pages
(``error_pages.WebRoute``) and is left out of the OpenAPI document (it is HTML)."""

from __future__ import annotations

from fastapi import APIRouter

from dutystation.web import (
    audit_pages,
    exemption_pages,
    my_status,
    overview_pages,
    report_pages,
    session_pages,
)

router = APIRouter(include_in_schema=False)
for area in (
    session_pages,
    my_status,
    overview_pages,
    exemption_pages,
    report_pages,
    audit_pages,
):
    router.include_router(area.router)
