"""Channels: signed statements of which release each rollout phase runs (issue 16).

:mod:`~nebsign.channels.model` (the statement, pure), :mod:`~nebsign.channels.rules`
(the promotion rules over verified gate statements, pure),
:mod:`~nebsign.channels.publish` (writing statements into a static store) and
:mod:`~nebsign.channels.hostspec` (the host policy's ``[channel]`` table).
The host side lives in :mod:`nebsign.agent.channel`.
"""
