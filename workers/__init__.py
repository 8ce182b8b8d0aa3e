"""Process entry points: settings, logging, the worker and the `fulfil` CLI."""
