"""Pure domain: entities, rules and arithmetic. Standard library only (and pydantic); no I/O."""
