"""One module per mixup method. Every module here is imported by
`bench.api.registry.discover`; a class decorated with `@register` (from `bench.api`) in it
becomes a method of the benchmark."""
