"""fmnist_jax: honest, fast Fashion-MNIST benchmarks of classic architectures in JAX/Flax."""

__version__ = "0.1.0"
