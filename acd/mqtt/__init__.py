"""Live state and commands over MQTT (aiomqtt)."""
