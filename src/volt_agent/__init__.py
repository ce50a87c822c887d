"""volt-agent: weekly Toggl Track + Fibery work reports, orchestrated by Temporal."""

__version__ = "0.1.0"
