"""A bare Flask app: one route answering a small JSON document.

bench/run.py serves it with the same gunicorn settings as the real app, as the
yardstick for the deploy-gate endpoint (`gunicorn -w 2 --chdir bench bare:app`).
"""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/ping")
def ping():
    return jsonify({"service": "bare", "allowed": True, "state": "ops_managed", "reasons": []})
