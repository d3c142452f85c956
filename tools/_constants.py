"""Physical constants (CODATA 2018, SI) with units that `unit_dimension` reads."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PHYSICAL_CONSTANTS", "PhysicalConstant"]


@dataclass(frozen=True, slots=True)
class PhysicalConstant:
    """A named physical constant with its SI value and unit.

    Units are written in base SI units (``kg*m**2/s`` rather than ``J*s``)
    so that a constant can be handed to `pi_groups` or `check_dimensions`
    next to measured quantities without a table of derived units.

    Example:
        >>> c = next(k for k in PHYSICAL_CONSTANTS if k.name == "c")
        >>> c.value, c.unit
        (299792458.0, 'm/s')
    """

    name: str
    """Short symbol, usable as a variable name in an expression (e.g. `k_B`)."""
    value: float
    """Value in the SI units of `unit` (exact where the 2019 SI fixes it)."""
    unit: str
    """Unit string in base SI units, readable by `unit_dimension`."""
    description: str
    """What the constant is, with its customary derived unit."""


PHYSICAL_CONSTANTS: tuple[PhysicalConstant, ...] = (
    PhysicalConstant("c", 299792458.0, "m/s", "speed of light in vacuum (exact)"),
    PhysicalConstant(
        "G", 6.67430e-11, "m**3/(kg*s**2)", "Newtonian constant of gravitation"
    ),
    PhysicalConstant("h", 6.62607015e-34, "kg*m**2/s", "Planck constant, J s (exact)"),
    PhysicalConstant(
        "k_B", 1.380649e-23, "kg*m**2/(s**2*K)", "Boltzmann constant, J/K (exact)"
    ),
    PhysicalConstant(
        "epsilon_0",
        8.8541878128e-12,
        "A**2*s**4/(kg*m**3)",
        "vacuum electric permittivity, F/m",
    ),
    PhysicalConstant("e", 1.602176634e-19, "A*s", "elementary charge, C (exact)"),
    PhysicalConstant("m_e", 9.1093837015e-31, "kg", "electron mass"),
    PhysicalConstant(
        "g_n", 9.80665, "m/s**2", "standard acceleration of gravity (exact)"
    ),
    PhysicalConstant("N_A", 6.02214076e23, "1/mol", "Avogadro constant (exact)"),
)
"""The constants, in a fixed order; names are unique."""
