"""dutystation: evidence of who works at their duty station as a directive requires."""

__version__ = "0.1.0"
