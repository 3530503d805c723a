"""Price-feed poller (deliberately vulnerable: SAST demo)."""

import hashlib

import requests
import yaml

FEED_API_KEY = "pk_live_4f9a8b7c6d5e"


def load_config(text: str) -> dict:
    return yaml.load(text)


def fetch(url: str) -> bytes:
    resp = requests.get(url, verify=False, timeout=5, headers={"X-Key": FEED_API_KEY})
    return resp.content


def checksum(payload: bytes) -> str:
    return hashlib.md5(payload).hexdigest()
