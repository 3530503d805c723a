import requests


def ticker(url: str):
    # ruleid: request-without-timeout
    a = requests.get(url)
    # ok: request-without-timeout
    b = requests.get(url, timeout=(3, 10))
    # ok: request-without-timeout
    c = requests.Session()
    return a, b, c
