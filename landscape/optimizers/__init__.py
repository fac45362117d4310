"""Path optimizers: the PathOptimizer interface (init/step/terminate over frozen state),
the elastic band (NEB, string method, climbing image), AutoNEB and its schedules, the
steppers (SGD, Adam, FIRE, FIRE 2.0, L-BFGS, FIRE 2.0 handed to L-BFGS), and the one
driver loop with its budget and step log.
"""

from landscape.optimizers import hybrid as _hybrid  # noqa: F401  (registers the stepper kind fire2-lbfgs)
