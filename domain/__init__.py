"""Business rules of fulfil: pure Python, no framework, no I/O."""
