"""The dashboard: server-rendered pages (Jinja2) with htmx for partial updates, served by
the same FastAPI app as the JSON API (``api.app.create_app`` includes ``routes.router``).

Thin like the CLI: a page finds out who is asking (the session cookie, ``auth``), calls a
service, renders. Authorisation stays in the services; a subject the actor may not see
answers the same 404 page as a missing one. Scripts and charts (htmx, Vega, Vega-Lite,
vega-embed) are vendored from the npm registry under ``static/vendor`` and served by the
app, so a page loads nothing from elsewhere and runs under ``default-src 'self'``.
"""
