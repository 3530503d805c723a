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


def sessions(url: str, client):
    session = requests.Session()
    # ruleid: tls-verification-disabled
    a = requests.Session().get(url, verify=False, timeout=5)
    # ruleid: tls-verification-disabled
    b = session.get(url, verify=False, timeout=5)
    # ruleid: tls-verification-disabled
    c = requests.get(url, verify=0, timeout=5)
    # ruleid: tls-verification-disabled
    d = requests.get(url, timeout=5, **{"verify": False})
    # ok: tls-verification-disabled
    e = session.get(url, verify=True, timeout=5)
    # ok: tls-verification-disabled
    f = client.fetch(url, verify="/etc/ssl/ca.pem")
    return a, b, c, d, e, f
