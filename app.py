"""Entry point: `flask --app app …` and `python app.py` (serves on 127.0.0.1:5000)."""

import gc

from readiness import create_app

app = create_app()
# Start-up objects live as long as the process: keep them out of every garbage
# collection (a full collection otherwise re-walks them, ~25 ms on the dashboard).
gc.freeze()

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=5000)
