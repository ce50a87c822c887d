"""Scheduled runs: ``service`` (create/list/delete/trigger Temporal Schedules), ``workflow``
(``ScheduledPipeline``, what a schedule starts) and ``windows`` (pure date windows).

Kept import-free so the workflow sandbox can re-import ``schedules.workflow`` cheaply.
"""
