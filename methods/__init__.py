"""One module per mixup method. Every module here is imported by `bench.registry.discover`;
a class decorated with `@register` (bench.method_api) in it becomes a method of the benchmark."""
