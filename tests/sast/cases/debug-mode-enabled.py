from flask import Flask

app = Flask(__name__)

# ruleid: debug-mode-enabled
DEBUG = True
# ok: debug-mode-enabled
TESTING = True

if __name__ == "__main__":
    # ruleid: debug-mode-enabled
    app.run(debug=True, host="127.0.0.1")
    # ok: debug-mode-enabled
    app.run(debug=False, host="127.0.0.1")
