"""Errors raised while reading platform traffic. Sending errors are `handoff.errors.DeliveryError`."""

from __future__ import annotations


class ChannelError(Exception):
    """Base for everything a channel adapter refuses."""


class InvalidSignatureError(ChannelError):
    """The request is not from the platform: no, or a wrong, signature or secret token."""


class MalformedPayloadError(ChannelError):
    """The request is from the platform's side but cannot be read: bad JSON/XML, wrong shape, too big."""
