"""One module per mixup method. Every module here is imported by `bench.registry.discover`;
a class decorated with `@register` in it becomes a method of the benchmark."""
