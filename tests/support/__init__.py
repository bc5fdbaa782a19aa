"""Test helpers that start or drive real peers (brokers, databases, registries)."""
