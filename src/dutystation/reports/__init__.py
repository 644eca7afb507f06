"""Rendering only: tables, CSV/XLSX/JSON/HTML exports, charts."""
