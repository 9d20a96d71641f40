"""Platform credentials never reach the logs in clear: httpx logs every request URL at INFO."""

from __future__ import annotations

from api.logs import mask_secrets


def test_bot_tokens_access_tokens_and_secrets_are_masked() -> None:
    line = 'HTTP Request: POST https://api.telegram.org/bot123456:AAE-x_y9/sendMessage "HTTP/1.1 200 OK"'
    assert mask_secrets(line) == 'HTTP Request: POST https://api.telegram.org/bot123456:***/sendMessage "HTTP/1.1 200 OK"'
    query = "GET /cgi-bin/token?grant_type=client_credential&appid=wx1&secret=s3cr3t and ?access_token=TOKEN-1"
    assert mask_secrets(query) == "GET /cgi-bin/token?grant_type=client_credential&appid=wx1&secret=*** and ?access_token=***"
