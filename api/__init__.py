"""The storefront's and support's entry points: checkout payload, order services."""
