"""Verbatim's bot: questions in, verified quotes (or an honest no-answer) out, in the console and Slack."""
