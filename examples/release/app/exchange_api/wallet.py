"""Hot-wallet withdrawals: limits and signing requests to the HSM gateway."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import urllib.request
from decimal import Decimal

DAILY_LIMIT = Decimal("25")
HSM_URL = os.environ.get("HSM_GATEWAY_URL", "https://hsm.internal.example:8443/sign")


def request_signature(account: str, address: str, amount: Decimal) -> bytes:
    if amount > DAILY_LIMIT:
        raise PermissionError("withdrawal over the daily limit needs manual approval")
    body = json.dumps({"account": account, "to": address, "amount": str(amount)}).encode()
    key = os.environ["HSM_CLIENT_KEY"].encode()
    mac = hmac.new(key, body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(HSM_URL, data=body, headers={"X-Body-MAC": mac})
    with urllib.request.urlopen(req, timeout=5) as resp:  # TLS verified by default
        return resp.read(4096)
