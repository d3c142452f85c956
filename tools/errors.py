"""Errors raised by `tools`.

* ToolError
  + ExpressionError (also a `ValueError`: text that `parse_expression` refuses)
  + FitError        (bad arguments to `fit_parameters`; failed fits are data)
  + UnitError       (unknown unit names, undeclared variable units)
"""

from __future__ import annotations

__all__ = ["ExpressionError", "FitError", "ToolError", "UnitError"]


class ToolError(Exception):
    """Root of every error raised by `tools`."""


class ExpressionError(ToolError, ValueError):
    """An expression text was refused; the message names the offending piece."""


class FitError(ToolError):
    """`fit_parameters` was called with bad arguments (never for a poor fit)."""


class UnitError(ToolError):
    """A unit string could not be read or a variable has no declared unit."""
