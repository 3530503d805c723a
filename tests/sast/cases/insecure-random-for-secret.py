import random
import secrets


def new_session():
    # ruleid: insecure-random-for-secret
    session_token = random.getrandbits(128)
    # ruleid: insecure-random-for-secret
    nonce = str(random.randint(0, 10**9))
    # ok: insecure-random-for-secret
    jitter = random.uniform(0.1, 0.5)
    # ok: insecure-random-for-secret
    api_key = secrets.token_urlsafe(32)
    return session_token, nonce, jitter, api_key
