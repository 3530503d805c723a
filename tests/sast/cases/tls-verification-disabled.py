import ssl

import requests


def fetch_price(url: str):
    # ruleid: tls-verification-disabled
    r = requests.get(url, verify=False, timeout=5)
    # ruleid: tls-verification-disabled
    ctx = ssl._create_unverified_context()
    other = ssl.create_default_context()
    # ruleid: tls-verification-disabled
    other.check_hostname = False
    # ruleid: tls-verification-disabled
    other.verify_mode = ssl.CERT_NONE
    # ok: tls-verification-disabled
    s = requests.get(url, verify="/etc/ssl/private-ca.pem", timeout=5)
    # ok: tls-verification-disabled
    t = requests.post(url, timeout=5)
    return r, ctx, s, t
