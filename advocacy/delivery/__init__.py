"""Delivery: mail backends, the queue, the worker and provider webhooks."""
