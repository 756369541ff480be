"""Live state on an MQTT broker (aiomqtt < 3): see docs/mqtt.md."""

from acd.mqtt.bridge import EngineViews, MqttBridge
from acd.mqtt.commands import ACTIONS, AdvisorCommand, InvalidCommandError, parse_command
from acd.mqtt.topics import TopicError, Topics

__all__ = [
    "ACTIONS",
    "AdvisorCommand",
    "EngineViews",
    "InvalidCommandError",
    "MqttBridge",
    "TopicError",
    "Topics",
    "parse_command",
]
