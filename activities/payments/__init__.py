"""Payment gateway: the interface fulfil charges through, and its simulator."""
