"""Pure functions on expressions: parse, fit, score, canonicalize, compare, check units.

`tools` imports nothing else from the project. Its public API:

* `parse_expression` / `expression_text`: a whitelisting `ast` parser that
  never evaluates code and refuses constants beyond 1e300, and a printer it
  reads back; `bind_parameters` puts fitted values into a law within the
  same bound.
* `fit_parameters` / `predict`: multi-start least squares for free
  constants, with covariance (`FitResult`).
* `r2`, `rmse`, `bic`, `complexity`: scores.
* `canonical_form` / `canonical_key`: structure with constants abstracted.
* `snap_constants` / `is_equivalent`: the "recovered" rule of the
  architecture (`EquivalenceVerdict`); `constants_within_intervals`: the
  rule under noise (the true form, its true constants inside the stated
  95 % intervals).
* `unit_dimension` / `check_dimensions`: dimensional analysis (`Dimension`,
  `UnitCheck`).
* `pi_groups`: Buckingham pi groups and a scale for a target (`PiBasis`,
  `Monomial`); `PHYSICAL_CONSTANTS` (`PhysicalConstant`, CODATA 2018).
* `repair_units`: free dimensional constants where a law's units clash.
* `name_constants`: constants of nature by name where a law's exact
  numbers are made of them (for display).

The symbolic-regression engines live in the subpackage `tools.sr`.
"""

from __future__ import annotations

from lawloop.tools._bounds import bind_parameters
from lawloop.tools._canonical import canonical_form, canonical_key
from lawloop.tools._closed_forms import ClosedForm, closed_form
from lawloop.tools._constants import PHYSICAL_CONSTANTS, PhysicalConstant
from lawloop.tools._deviation import DeviationTest, deviation_test
from lawloop.tools._dimensional import PiBasis, pi_groups
from lawloop.tools._equivalence import EquivalenceVerdict, is_equivalent
from lawloop.tools._fitting import FitResult, fit_parameters, predict
from lawloop.tools._interval_recovery import constants_within_intervals
from lawloop.tools._monomial import Monomial
from lawloop.tools._named_constants import name_constants
from lawloop.tools._parse import (
    expression_text,
    machine_numbers,
    make_symbol,
    parse_expression,
)
from lawloop.tools._repair import repair_units
from lawloop.tools._scores import bic, complexity, r2, rmse
from lawloop.tools._snap import snap_constants
from lawloop.tools._units import Dimension, UnitCheck, check_dimensions, unit_dimension
from lawloop.tools.errors import ExpressionError, FitError, ToolError, UnitError

__all__ = [
    "PHYSICAL_CONSTANTS",
    "ClosedForm",
    "DeviationTest",
    "Dimension",
    "EquivalenceVerdict",
    "ExpressionError",
    "FitError",
    "FitResult",
    "Monomial",
    "PhysicalConstant",
    "PiBasis",
    "ToolError",
    "UnitCheck",
    "UnitError",
    "bic",
    "bind_parameters",
    "canonical_form",
    "canonical_key",
    "check_dimensions",
    "closed_form",
    "complexity",
    "constants_within_intervals",
    "deviation_test",
    "expression_text",
    "fit_parameters",
    "is_equivalent",
    "machine_numbers",
    "make_symbol",
    "name_constants",
    "parse_expression",
    "pi_groups",
    "predict",
    "r2",
    "repair_units",
    "rmse",
    "snap_constants",
    "unit_dimension",
]
