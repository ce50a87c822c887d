"""``volt-agent doctor``: checks a user runs before the first real run.

``checks`` holds the report line type and the offline checks (Temporal, output folder),
``apis`` the checks of Toggl and the LLM endpoint, ``fibery`` those of Fibery, and
``service`` runs them all.
"""

from volt_agent.doctor.checks import Check, Status, exit_code
from volt_agent.doctor.service import run_doctor

__all__ = ["Check", "Status", "exit_code", "run_doctor"]
