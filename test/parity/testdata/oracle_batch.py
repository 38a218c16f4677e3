"""Runs the ingestor oracle (../shared/oracle/oracle.py) on many datasets in one Python start.

stdin: one JSON object a line {"id", "category", "dir", "options"}; stdout: the oracle's
verdict for each, one JSON line with its id. oracle.py's own --batch covers the text and
tabular categories only; this runs oracle.py itself once per dataset (its argv set as its
command line would set it), so every category, image ones included, gets the oracle's own
verdict. usage: PYTHONPATH=<oracle dir> python3 oracle_batch.py <oracle dir>/oracle.py
"""
import io, json, runpy, sys, contextlib

oracle = sys.argv[1]
out = sys.stdout
for line in sys.stdin:
    if not line.strip():
        continue
    job = json.loads(line)
    sys.argv = [oracle, job["category"], job["dir"], json.dumps(job.get("options") or {})]
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            try:
                runpy.run_path(oracle, run_name="__main__")
            except SystemExit:
                pass
        verdict = json.loads(buf.getvalue().strip().splitlines()[-1])
    except Exception as e:  # no verdict is a failure the test reports
        verdict = {"valid": None, "errors": [f"oracle_batch: {type(e).__name__}: {e}"]}
    verdict["id"] = job.get("id")
    out.write(json.dumps(verdict) + "\n")
    out.flush()
