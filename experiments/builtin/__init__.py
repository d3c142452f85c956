"""Built-in backends, registered on `import experiments`.

| id                    | class                                         | what it measures                                    |
|-----------------------|-----------------------------------------------|-----------------------------------------------------|
| `core/Pendulum-v0`    | `experiments.builtin.pendulum:Pendulum`       | period of a nonlinear (damped) pendulum             |
| `core/Formula-v0`     | `experiments.builtin.formula:Formula`         | any benchmark formula (problem file + id)           |
| `core/Projectile-v0`  | `experiments.builtin.projectile:Projectile`   | range and flight time with quadratic air drag       |
| `core/Kepler-v0`      | `experiments.builtin.kepler:Kepler`           | period and periapsis of a two-body orbit            |
| `core/Blackbody-v0`   | `experiments.builtin.blackbody:Blackbody`     | spectral radiance of a black body, with read noise  |
| `core/Decay-v0`       | `experiments.builtin.decay:Decay`             | Poisson counts from a decaying source in a window   |
| `core/Cosmology-v0`   | `experiments.builtin.cosmology:Cosmology`     | distance modulus of standard candles vs redshift    |
"""

from __future__ import annotations

from lawloop.experiments._registration import register

# id                   entry point (imported lazily by `make`)       description
register(
    "core/Pendulum-v0",
    "lawloop.experiments.builtin.pendulum:Pendulum",
    description="period of a nonlinear pendulum, measured from RK4 trajectories; options damping, max_amplitude",
)
register(
    "core/Formula-v0",
    "lawloop.experiments.builtin.formula:Formula",
    description="a benchmark formula; options problem_file, problem_id",
)
register(
    "core/Projectile-v0",
    "lawloop.experiments.builtin.projectile:Projectile",
    description="range and flight time of a projectile with quadratic drag, from RK4 trajectories; option g",
)
register(
    "core/Kepler-v0",
    "lawloop.experiments.builtin.kepler:Kepler",
    description="period and periapsis distance of a two-body orbit, from RK4 trajectories",
)
register(
    "core/Blackbody-v0",
    "lawloop.experiments.builtin.blackbody:Blackbody",
    description="spectral radiance of a black body with relative read noise; option read_noise",
)
register(
    "core/Decay-v0",
    "lawloop.experiments.builtin.decay:Decay",
    description="Poisson counts from a radioactive source in a time window; hidden option half_life",
)
register(
    "core/Cosmology-v0",
    "lawloop.experiments.builtin.cosmology:Cosmology",
    description="distance modulus of standard candles vs redshift in flat LambdaCDM; option scatter",
)
