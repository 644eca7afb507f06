"""A reproducible fictional department for demos, tests and benchmarks (``dutystation
demo``): org units, offices, an effective-dated roster, T&A hours and badge events around
the January 2025 return-to-office directive, written as the files a user would bring."""

from dutystation.synthetic.generate import (
    DEFAULT_EMPLOYEES,
    DEFAULT_SEED,
    MAX_EMPLOYEES,
    MIN_EMPLOYEES,
    GeneratedDemo,
    generate_demo,
)

__all__ = [
    "DEFAULT_EMPLOYEES",
    "DEFAULT_SEED",
    "MAX_EMPLOYEES",
    "MIN_EMPLOYEES",
    "GeneratedDemo",
    "generate_demo",
]
