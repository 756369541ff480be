"""Discrete-event what-if simulator over ``acd.core`` only.

``run_day(config, scenario)`` simulates one day with the production engine; ``DecisionLog``
reads what it decided; ``scenario_for(config)`` is a plain built-in day; ``acd.sim.command``
is the ``acd simulate`` command. See docs/simulate.md.
"""

from acd.sim.decision_log import DecisionLog
from acd.sim.results import SimulationResult
from acd.sim.scenario import Scenario, scenario_for
from acd.sim.simulator import run_day

__all__ = ["DecisionLog", "Scenario", "SimulationResult", "run_day", "scenario_for"]
