"""The ``acknowledgements`` report: per directive and component, how many people were
notified, how many acknowledged, how many reminders went out, and what became of the mail
(docs/notices.md). The tables come from ``services/notice_status.py``; this module only
groups them (DuckDB), like every other builder."""

from __future__ import annotations

import pyarrow as pa

from dutystation.reports import charts
from dutystation.reports.model import Chart, Column, ColumnKind, Report
from dutystation.services.reporting.hours import NAME, with_names
from dutystation.services.reporting.tables import (
    TOTAL,
    UNIT,
    ReportContext,
    group_depth,
    group_sql,
    query,
    root_label,
    section,
    within,
)

# Per directive and org unit as at sending; each person once per directive.
COUNTS_SCHEMA = pa.schema(
    [
        ("directive_ref", pa.string()),
        ("org_unit", pa.string()),
        ("component", pa.string()),
        ("org_path", pa.string()),
        ("recipients", pa.int64()),
        ("acknowledged", pa.int64()),
        ("reminders_sent", pa.int64()),
        ("mail_sent", pa.int64()),
        ("mail_pending", pa.int64()),
        ("mail_failed", pa.int64()),
        ("in_app_only", pa.int64()),
    ]
)
# Per notice and org unit as at sending.
NOTICES_SCHEMA = pa.schema(
    [
        ("notice_id", pa.int64()),
        ("kind", pa.string()),
        ("directive_ref", pa.string()),
        ("deadline_kind", pa.string()),
        ("deadline", pa.date32()),
        ("sent_on", pa.date32()),
        ("org_unit", pa.string()),
        ("org_path", pa.string()),
        ("recipients", pa.int64()),
        ("acknowledged", pa.int64()),
        ("mail_sent", pa.int64()),
        ("mail_pending", pa.int64()),
        ("mail_failed", pa.int64()),
    ]
)

_K = ColumnKind
DIRECTIVE = Column("directive_ref", "Directive", priority=0, description="id@version")
RECIPIENTS = Column(
    "recipients",
    "Recipients",
    _K.INTEGER,
    short="People",
    priority=0,
    description="People notified (in the app, and by mail when they have an address)",
)
ACKNOWLEDGED = Column(
    "acknowledged",
    "Acknowledged",
    _K.INTEGER,
    short="Ack.",
    priority=1,
    description="Recipients who acknowledged any notice of the directive",
)
RATE = Column(
    "share_acknowledged",
    "Acknowledged (share)",
    _K.SHARE,
    short="Rate",
    priority=0,
    description="acknowledged / recipients",
)
REMINDERS = Column(
    "reminders_sent",
    "Reminders sent",
    _K.INTEGER,
    short="Reminders",
    priority=2,
    description="Reminder notices received, summed over people",
)
MAIL_SENT = Column(
    "mail_sent",
    "Mails sent",
    _K.INTEGER,
    short="Sent",
    priority=2,
    description="Mails the SMTP server accepted",
)
MAIL_PENDING = Column(
    "mail_pending",
    "Mails waiting",
    _K.INTEGER,
    short="Waiting",
    priority=3,
    description="Mails not sent yet (queued, or waiting for a retry)",
)
MAIL_FAILED = Column(
    "mail_failed",
    "Mails failed",
    _K.INTEGER,
    short="Failed",
    priority=1,
    description="Mails refused, out of attempts, or of unknown outcome",
)
IN_APP_ONLY = Column(
    "in_app_only",
    "In the app only",
    _K.INTEGER,
    short="No mail",
    priority=3,
    description="Recipients without a mail address in the roster",
)
NOTICE_ID = Column("notice_id", "Notice", _K.INTEGER, priority=0, description="Notice id")
KIND = Column("kind", "Kind", priority=0, description="announcement or reminder")
DEADLINE_KIND = Column(
    "deadline_kind",
    "Deadline",
    priority=2,
    description="Reminders: policy_revision, full_compliance or report",
)
DEADLINE = Column(
    "deadline",
    "Deadline day",
    _K.DATE,
    short="Due",
    priority=1,
    description="Reminders: the deadline's day",
)
SENT_ON = Column("sent_on", "Sent on", _K.DATE, priority=1, description="Day created (UTC)")

_SUMS = """
    CAST(sum(recipients) AS BIGINT) AS recipients,
    CAST(sum(acknowledged) AS BIGINT) AS acknowledged,
    round(sum(acknowledged) / nullif(sum(recipients), 0), 4) AS share_acknowledged,
    CAST(sum(mail_sent) AS BIGINT) AS mail_sent,
    CAST(sum(mail_pending) AS BIGINT) AS mail_pending,
    CAST(sum(mail_failed) AS BIGINT) AS mail_failed"""


def acknowledgements(counts: pa.Table, notices: pa.Table, context: ReportContext) -> Report:
    counts = within(counts, context.org_unit)
    notices = within(notices, context.org_unit)
    # Whole organisation: the component as at sending. Under --org: the unit one level
    # below it in today's tree, as every other report groups.
    unit = "component"
    if context.org_unit is not None:
        unit = group_sql(group_depth(context.org_unit, counts))
    root = root_label(context.org_unit, counts).replace("'", "''")
    by_unit = query(
        f"""WITH c AS (SELECT *, {unit} AS unit FROM counts)
        SELECT directive_ref, coalesce(unit, '{root}') AS org_unit,
               grouping(unit) = 1 AS is_total, {_SUMS},
               CAST(sum(reminders_sent) AS BIGINT) AS reminders_sent,
               CAST(sum(in_app_only) AS BIGINT) AS in_app_only
        FROM c GROUP BY GROUPING SETS ((directive_ref, unit), (directive_ref))
        ORDER BY directive_ref, is_total, org_unit""",
        counts=counts,
    )
    by_unit = with_names(by_unit, context, root)
    per_notice = query(
        f"""SELECT notice_id, kind, directive_ref, deadline_kind, deadline, sent_on, {_SUMS}
        FROM notices GROUP BY notice_id, kind, directive_ref, deadline_kind, deadline, sent_on
        ORDER BY notice_id""",
        notices=notices,
    )
    unit_columns = [
        DIRECTIVE, UNIT, NAME, RECIPIENTS, ACKNOWLEDGED, RATE, REMINDERS,
        MAIL_SENT, MAIL_PENDING, MAIL_FAILED, IN_APP_ONLY, TOTAL,
    ]  # fmt: skip
    notice_columns = [
        NOTICE_ID, KIND, DIRECTIVE, DEADLINE_KIND, DEADLINE, SENT_ON, RECIPIENTS,
        ACKNOWLEDGED, RATE, MAIL_SENT, MAIL_PENDING, MAIL_FAILED,
    ]  # fmt: skip
    notes = [
        "A person counts once per directive, in the unit of their latest notice of it, as "
        "at sending; acknowledging any notice of a directive (announcement or reminder) "
        "acknowledges the directive.",
        "Mails failed: refused by the server, out of attempts, or of unknown outcome (a "
        "worker stopped mid-send; never re-sent automatically). Recipients without a mail "
        "address have the notice in the app only.",
    ]
    return Report(
        kind="acknowledgements",
        title="Acknowledgements of directive notices",
        subtitle=f"Notices sent {context.start.isoformat()} to {context.end.isoformat()}",
        period_start=context.start,
        period_end=context.end,
        as_of=context.as_of,
        sections=(
            section(
                "by-unit",
                "Acknowledgement rate per org unit",
                unit_columns,
                by_unit,
                notes=notes,
                chart=_chart(by_unit),
            ),
            section("notices", "Notices", notice_columns, per_notice),
        ),
        primary="by-unit",
        notes=context.notes,
        parameters=context.parameters,
    )


def _chart(by_unit: pa.Table) -> Chart | None:
    """Acknowledged and not, per unit; only when the report holds one directive."""
    refs = set(by_unit.column("directive_ref").to_pylist())
    if len(refs) != 1 or by_unit.num_rows == 0:
        return None
    rates = by_unit.column("share_acknowledged").to_pylist()
    stacked = pa.table(
        {
            "unit": by_unit.column("org_unit"),
            "acknowledged": pa.array([r or 0.0 for r in rates], pa.float64()),
            "not acknowledged": pa.array([1 - (r or 0.0) for r in rates], pa.float64()),
        }
    )
    (ref,) = refs
    return charts.composition_bars(
        stacked,
        categories=["acknowledged", "not acknowledged"],
        title=f"Acknowledgements of {ref} per org unit",
        description="Stacked bars of the share of recipients who acknowledged, per unit.",
    )
