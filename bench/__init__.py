"""mixup-bench: a fair benchmark of mixup augmentation for transformer text classifiers."""

__version__ = "0.1.0"
