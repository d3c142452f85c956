"""Built-in backends, registered on `import experiments`.

| id                  | class                                       | what it measures                          |
|---------------------|---------------------------------------------|-------------------------------------------|
| `core/Pendulum-v0`  | `experiments.builtin.pendulum:Pendulum`     | period of a nonlinear (damped) pendulum   |
| `core/Formula-v0`   | `experiments.builtin.formula:Formula`       | any benchmark formula (problem file + id) |
"""

from __future__ import annotations

from experiments._registration import register

# id                   entry point (imported lazily by `make`)       description
register(
    "core/Pendulum-v0",
    "experiments.builtin.pendulum:Pendulum",
    description="period of a nonlinear pendulum, measured from RK4 trajectories; options damping, max_amplitude",
)
register(
    "core/Formula-v0",
    "experiments.builtin.formula:Formula",
    description="a benchmark formula; options problem_file, problem_id",
)
