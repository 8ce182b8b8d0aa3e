"""Customer notifications: the provider interface, its simulator and the outbox relay."""
