"""Use cases, one module per area. Services own transactions and (later) authorisation."""
