import os

# ruleid: hardcoded-secret
EXCHANGE_API_KEY = "k8s9Fj2LmQ0pXz7R"
# ruleid: hardcoded-secret
db_password = "Tr4d1ng-Pr0d!"


def connect(client):
    # ruleid: hardcoded-secret
    client.connect(user="svc", password="s3cr3t-value")
    # ruleid: hardcoded-secret
    client.settings.client_secret = "abcdef123456"
    # ok: hardcoded-secret
    api_key = os.environ["EXCHANGE_API_KEY"]
    # ok: hardcoded-secret
    password = ""
    # ok: hardcoded-secret
    secret = "changeme"
    # ok: hardcoded-secret
    username = "trading-service"
    return api_key, password, secret, username
