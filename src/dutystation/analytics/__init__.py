"""Heavy set operations as DuckDB queries over the Parquet event store and small Arrow
tables of the roster (DESIGN.md §3): daily presence (``presence``) and the evaluation of
every employee for every period (``evaluation``). No Python loop touches an event."""
