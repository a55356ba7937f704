"""A fake Slack (Web API + Socket Mode) and payload builders for the Slack front end's tests."""
from .server import Call, Envelope, FakeSlack, Fault, check_blocks
from .payloads import (
    block_action,
    event_callback,
    mention_event,
    dm_event,
    signed_headers,
    slash_command,
    form_body,
    action_form_body,
)

__all__ = ["Call", "Envelope", "FakeSlack", "Fault", "check_blocks", "block_action", "event_callback",
           "mention_event", "dm_event", "signed_headers", "slash_command",
           "form_body", "action_form_body"]
