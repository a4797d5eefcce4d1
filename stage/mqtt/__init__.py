"""Remote control over MQTT: control topics in, state, notes and errors out (`--mqtt`, `encore send`)."""
