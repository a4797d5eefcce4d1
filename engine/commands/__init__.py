"""The engine's commands, a module each (or a few that belong together): what every surface sends.

Each module declares its commands whole (`encore.engine.control.Command`): the fields and their JSON
kinds, the wire name, the checks and the engine's handler; its docstring says when they take effect.
`encore.engine.control.command_types()` imports every module here once and finds each command by its
wire name, which is how the wire format (`encore.engine.wire`) knows them: a new command is a new module
here plus its test (docs/engine.md, "Adding a command").
"""
