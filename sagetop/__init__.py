"""sagetop: a terminal dashboard that watches SageMaker inference endpoints and right-sizes them."""

__version__ = "0.1.0"
