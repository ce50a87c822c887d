"""Delivery of a finished run's reports (opt-in per run): email, with a ledger per run."""
