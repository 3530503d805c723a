import jwt


def user_of(token: str, key: str):
    # ruleid: jwt-decode-without-verification
    a = jwt.decode(token, options={"verify_signature": False})
    # ruleid: jwt-decode-without-verification
    b = jwt.decode(token, key, algorithms=["HS256", "none"])
    # ruleid: jwt-decode-without-verification
    c = jwt.decode(token, key, verify=False)
    # ok: jwt-decode-without-verification
    d = jwt.decode(token, key, algorithms=["RS256"])
    return a, b, c, d
