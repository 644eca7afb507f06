"""The JSON API under ``/api/v1`` (FastAPI). Thin: parse, call a service, answer.

Authorisation stays in the services; this package only finds out who is asking
(``deps``), turns the error tree into problem+json (``errors``) and guards the edge
(``security``: headers, body size, login rate). ``app.create_app`` puts it together with
the dashboard (``dutystation.web``)."""
