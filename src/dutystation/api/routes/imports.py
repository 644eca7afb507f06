"""Imports over HTTP: ``services.import_access.import_as`` (docs/importing.md).

``POST /imports/{kind}`` takes the files of one batch as a multipart upload, copies them in
chunks to a private folder under the data dir's ``tmp`` (removed afterwards), and runs the
same import as ``dutystation import KIND``: whole or not at all, idempotent. Rejected rows
answer 422 with where and why (file, line, column, reason), never their contents. The
files are named in answers by the name they were uploaded with, never by a server path.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from dutystation.api.deps import RuntimeDep, WritingActor
from dutystation.api.errors import problem_response, problem_responses
from dutystation.errors import (
    ConfigError,
    DutystationError,
    ImportHeld,
    ImportRejected,
    InputFileError,
    InvalidRequest,
)
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.summary import ImportSummary, RejectionClass
from dutystation.services.import_access import authorize_import, import_as, upload_folder
from dutystation.services.importing import ImportOptions

router = APIRouter(prefix="/imports", tags=["imports"])

CHUNK_BYTES = 1 << 20
MAX_FILES = 50
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class Rejection(BaseModel):
    """All rows rejected for one reason: how many, and where the first one is."""

    reason: str = Field(description="A stable code, e.g. unknown_employee.")
    message: str = Field(description="One sentence; never the row's values.")
    count: int
    file: str = Field(description="The file, by the name it was uploaded with.")
    line: int = Field(description="Line (record) number; the header is line 1.")
    column: str | None


class ImportOut(BaseModel):
    kind: ImportKind
    batch_id: str | None
    files: list[str]
    rows_read: int
    rows_stored: int
    duplicates: int = Field(description="Rows already stored, or repeated in the batch.")
    rows_rejected: int
    stored: bool = Field(description="False when rows were rejected and nothing was stored.")
    rejections: list[Rejection]
    notes: list[str]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "kind": "roster",
                    "batch_id": "20250303T101500Z-1a2b3c4d5e6f",
                    "files": ["roster.csv"],
                    "rows_read": 2481,
                    "rows_stored": 2479,
                    "duplicates": 0,
                    "rows_rejected": 2,
                    "stored": True,
                    "rejections": [
                        {
                            "reason": "unknown_org_unit",
                            "message": "the org unit is not known",
                            "count": 2,
                            "file": "roster.csv",
                            "line": 17,
                            "column": "org_unit",
                        }
                    ],
                    "notes": [],
                }
            ]
        }
    }


class _Names:
    """Server paths of the saved uploads and the names to show instead."""

    def __init__(self, folder: FilePath) -> None:
        self.folder = folder
        self.shown: dict[FilePath, str] = {}

    def save(self, upload: UploadFile, position: int) -> FilePath:
        name = FilePath((upload.filename or "").replace("\\", "/")).name
        shown = _UNSAFE.sub("_", name).strip("._")[:120] or f"file-{position}"
        path = self.folder / f"{position:03d}-{shown}"
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out, CHUNK_BYTES)
        self.shown[path] = shown
        return path

    def of(self, path: FilePath) -> str:
        return self.shown.get(path, path.name)

    def hide(self, text: str) -> str:
        for path, shown in self.shown.items():
            text = text.replace(str(path), shown)
        return text.replace(str(self.folder), "upload")


def _rejection(r: RejectionClass, names: _Names) -> Rejection:
    return Rejection(
        reason=r.reason,
        message=names.hide(r.message),
        count=r.count,
        file=names.of(r.first_file),
        line=r.first_line,
        column=r.column,
    )


def _answer(summary: ImportSummary, names: _Names) -> ImportOut:
    return ImportOut(
        kind=ImportKind(summary.kind),
        batch_id=summary.batch_id,
        files=[names.of(p) for p in summary.files],
        rows_read=summary.rows_read,
        rows_stored=summary.rows_stored,
        duplicates=summary.duplicates,
        rows_rejected=summary.rows_rejected,
        stored=summary.stored,
        rejections=[_rejection(r, names) for r in summary.rejections],
        notes=[names.hide(n) for n in summary.notes],
    )


def _refused(request: Request, exc: DutystationError, names: _Names) -> Any:
    """The error as the caller may see it: rows as data, server paths as upload names."""
    instance = request.url.path
    if isinstance(exc, ImportRejected):
        rejections = [_rejection(r, names).model_dump() for r in exc.rejections]
        total = sum(r["count"] for r in rejections)
        detail = f"{total} rows were rejected, so nothing was stored"
        return problem_response(
            422, "import-rejected", detail, instance, extra={"rejections": rejections}
        )
    if isinstance(exc, InputFileError):
        where = exc.where
        rejection = {
            "file": names.of(where.file),
            "line": where.line,
            "column": where.column,
            "reason": names.hide(exc.reason),
        }
        detail = f"{names.of(where.file)}: {names.hide(exc.reason)}; nothing was stored"
        return problem_response(
            422, "input-file-rejected", detail, instance, extra={"file_error": rejection}
        )
    if isinstance(exc, ConfigError | ImportHeld | InvalidRequest):
        raise type(exc)(names.hide(str(exc))) from None
    raise exc


IMPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **problem_responses(401, 403, 404, 409, 413, 503),
    422: {
        "description": "Rows or the file were rejected (``rejections`` or ``file_error``: "
        "file, line, column, reason); nothing was stored.",
        "content": {"application/problem+json": {"schema": {"type": "object"}}},
    },
}


@router.post(
    "/{kind}",
    summary="Import files of one kind",
    response_model=ImportOut,
    responses=IMPORT_RESPONSES,
)
def run_import(
    request: Request,
    runtime: RuntimeDep,
    actor: WritingActor,
    kind: Annotated[ImportKind, Path(description="org-units, offices, roster, timecards, badges")],
    files: Annotated[
        list[UploadFile], File(description="One or more files: one batch (CSV, XLSX, Parquet).")
    ],
    profile: Annotated[
        UploadFile | None, File(description="A column-mapping profile (TOML or YAML).")
    ] = None,
    accept_partial: Annotated[bool, Form(description="Store the valid rows anyway.")] = False,
    snapshot: Annotated[bool, Form(description="roster: the file is the whole roster.")] = False,
    confirm: Annotated[bool, Form(description="roster: apply a held snapshot.")] = False,
) -> Any:
    """HR or an agency administrator whose scope holds the whole organisation. Several
    files form one batch: it lands whole or not at all, and importing it again stores
    nothing twice. 409 while another import holds the event store."""
    if len(files) > MAX_FILES:
        raise InvalidRequest(f"an import takes at most {MAX_FILES} files")
    authorize_import(runtime, actor, kind)  # before anything is written to disk
    with upload_folder(runtime.settings) as folder:
        names = _Names(folder)
        paths = [names.save(f, n) for n, f in enumerate(files, start=1)]
        profile_path = names.save(profile, 0) if profile is not None else None
        options = ImportOptions(profile_path, accept_partial, snapshot=snapshot, confirm=confirm)
        try:
            summary = import_as(runtime, actor, kind, paths, options)
        except (ImportRejected, InputFileError, ConfigError, ImportHeld, InvalidRequest) as exc:
            answer: JSONResponse = _refused(request, exc, names)
            return answer
        return _answer(summary, names)
