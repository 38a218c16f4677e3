"""Reads CSV bytes as the ingestor's read_data does (for the fuzz target FuzzCSVReader).

stdin: one base64 CSV a line; stdout: one JSON line each, {"ok": true, "rows": [[...], ...]}
(the header first) or {"ok": false, "error": "..."}. The options are the ingestor's own:
cli/conventions.py's csv_options (delimiter ",", quotechar '"', escapechar "\\") and
CSVIngestor.read_data's defaults for a labels.csv (keep_default_na False, na_values [""],
on_bad_lines "error", engine "c", UTF-8), every column read as text.
"""
import base64, io, json, sys, warnings

warnings.simplefilter("ignore")
import pandas as pd

for line in sys.stdin:
    data = base64.b64decode(line.strip())
    try:
        text = data.decode("utf-8")
        df = pd.read_csv(io.StringIO(text), delimiter=",", quotechar='"', escapechar="\\", keep_default_na=False,
                         na_values=[""], on_bad_lines="error", engine="c", dtype=str)
        rows = [[str(c) for c in df.columns]]
        for r in df.itertuples(index=False, name=None):
            rows.append(["" if isinstance(v, float) else str(v) for v in r])
        out = {"ok": True, "rows": rows}
    except Exception as e:  # pandas' refusal is the verdict
        out = {"ok": False, "error": f"{type(e).__name__}: {e}"[:300]}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
