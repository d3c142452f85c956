"""Pure functions on expressions: parse, fit, score, canonicalize, compare, check units.

`tools` imports nothing else from the project. Its public API:

* `parse_expression` / `expression_text`: a whitelisting `ast` parser that
  never evaluates code, and a printer it reads back.
* `fit_parameters` / `predict`: multi-start least squares for free
  constants, with covariance (`FitResult`).
* `r2`, `rmse`, `bic`, `complexity`: scores.
* `canonical_form` / `canonical_key`: structure with constants abstracted.
* `snap_constants` / `is_equivalent`: the "recovered" rule of the
  architecture (`EquivalenceVerdict`).
* `parse_unit` / `check_dimensions`: dimensional analysis (`Dimension`,
  `UnitCheck`).

The symbolic-regression engines live in the subpackage `tools.sr`.
"""

from __future__ import annotations

from tools._canonical import canonical_form, canonical_key
from tools._equivalence import EquivalenceVerdict, is_equivalent, snap_constants
from tools._fitting import FitResult, fit_parameters, predict
from tools._parse import expression_text, make_symbol, parse_expression
from tools._scores import bic, complexity, r2, rmse
from tools._units import Dimension, UnitCheck, check_dimensions, parse_unit
from tools.errors import ExpressionError, FitError, ToolError, UnitError

__all__ = [
    "Dimension",
    "EquivalenceVerdict",
    "ExpressionError",
    "FitError",
    "FitResult",
    "ToolError",
    "UnitCheck",
    "UnitError",
    "bic",
    "canonical_form",
    "canonical_key",
    "check_dimensions",
    "complexity",
    "expression_text",
    "fit_parameters",
    "is_equivalent",
    "make_symbol",
    "parse_expression",
    "parse_unit",
    "predict",
    "r2",
    "rmse",
    "snap_constants",
]
