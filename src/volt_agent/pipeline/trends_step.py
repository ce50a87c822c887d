"""Week-over-week comparison inside the report activities: find the earlier run through the
storage interface and compare with its saved ``enriched_data.json`` (never a new fetch).
Synchronous; the activities run it in a thread."""

from __future__ import annotations

from volt_agent.domain.models import EnrichedData
from volt_agent.pipeline.offload import load_in_pieces
from volt_agent.reporting.trends import Trends, compute_trends, no_comparison
from volt_agent.storage.atomic import StorageError
from volt_agent.storage.previous_run import find_previous_run, run_workspace
from volt_agent.storage.run_folder import ENRICHED_DATA, RunFolder
from volt_agent.storage.run_metadata import load_metadata


def compare_with_previous(folder: RunFolder, current: EnrichedData) -> Trends:
    """This run's deltas against the previous period's run, or why there is none."""
    aggregated = current.aggregated
    try:
        meta = load_metadata(folder)
        users = meta.parameters.get("users") if meta is not None else None
        previous, reason = find_previous_run(
            folder.storage,
            folder.run_id,
            start=aggregated.start_date,
            end=aggregated.end_date,
            users=users,
            workspace_id=run_workspace(folder),
        )
        if previous is None:
            return no_comparison(aggregated, reason)
        earlier = load_in_pieces(previous, ENRICHED_DATA, EnrichedData)
    except StorageError as exc:
        return no_comparison(aggregated, f"the earlier run could not be read ({exc})")
    return compute_trends(current, earlier, previous.run_id)
