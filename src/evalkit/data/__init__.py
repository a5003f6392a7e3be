"""Loading and validation: a dataset folder in, a `Dataset` of typed frames out (SPEC section 1); the sample and pseudonymisation."""
