"""Pure carryover (adstock) and Hill saturation transforms, as numpy, torch and jax twins.

``np_ops`` (reference, used by the simulators), ``torch_ops`` (the Pyro model) and ``jax_ops`` (the NumPyro model)
expose the same functions with the same signatures and semantics; ``tests/transforms`` checks their parity.
Nothing here imports pyro or numpyro. Import the twin you need; this package imports no engine itself.

Conventions: time is the last axis of ``x``; parameters broadcast against ``x[..., 0]``.
"""
