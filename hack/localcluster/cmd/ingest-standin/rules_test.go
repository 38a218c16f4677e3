package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The ingestor's lock is held while the run ingests and gone after it.
func TestIngestHoldsTheTableLock(t *testing.T) {
	root := t.TempDir()
	cfg := stageTable(t, root, "fault_slow_cats", 3)
	var seen []lockContent
	sleep := func(time.Duration) {
		raw, err := os.ReadFile(lockPath(root, "fault_slow_cats"))
		if err != nil {
			t.Errorf("no lock while ingesting: %v", err)
			return
		}
		var c lockContent
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Errorf("lock content %q: %v", raw, err)
		}
		seen = append(seen, c)
	}
	var out bytes.Buffer
	if code := ingest(&out, cfg, root, "ingest-job-7", sleep); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	if len(seen) == 0 || seen[0].IngestorID != "ingest-job-7" || seen[0].TableName != "fault_slow_cats" || seen[0].Hostname == "" ||
		!strings.HasSuffix(seen[0].StartedAt, "Z") {
		t.Errorf("lock while ingesting: %+v", seen)
	}
	if _, err := time.Parse(time.RFC3339Nano, seen[0].StartedAt); err != nil {
		t.Errorf("started_at %q: %v", seen[0].StartedAt, err)
	}
	if st, err := os.Stat(lockPath(root, "fault_slow_cats")); err == nil {
		t.Errorf("the lock outlives the run: %v", st.Mode())
	}
}

func TestIngestLockLiveAndStale(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		mtime         time.Duration
		wantCode      int
	}{
		{"live", `{"ingestor_id": "other", "table_name": "cats", "pid": 1, "hostname": "h", "started_at": "` + time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04:05.000000") + `Z"}`, 0, 1},
		{"stale", `{"ingestor_id": "other", "table_name": "cats", "pid": 1, "hostname": "h", "started_at": "` + time.Now().UTC().Add(-13*time.Hour).Format("2006-01-02T15:04:05") + `Z"}`, 0, 0},
		{"unreadable, recent", `{`, 0, 1},
		{"unreadable, old", `{`, -13 * time.Hour, 0},
	} {
		root := t.TempDir()
		cfg := stageTable(t, root, "cats", 2)
		p := lockPath(root, "cats")
		if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if tc.mtime != 0 {
			old := time.Now().Add(tc.mtime)
			_ = os.Chtimes(p, old, old)
		}
		var out bytes.Buffer
		code := ingest(&out, cfg, root, "ingest-job-1", time.Sleep)
		if code != tc.wantCode {
			t.Errorf("%s: exit %d, want %d:\n%s", tc.name, code, tc.wantCode, out.String())
		}
		_, err := os.Stat(p)
		if (err == nil) != (tc.wantCode != 0) {
			t.Errorf("%s: lock present %v after the run", tc.name, err == nil)
		}
		if tc.wantCode != 0 && !strings.Contains(out.String(), "locked by another ingestion") {
			t.Errorf("%s: %s", tc.name, out.String())
		}
	}
}

// stageCSV stages a tabular table and its spec with data_id.
func stageCSV(t *testing.T, root, table, csv, dataID string) string {
	t.Helper()
	dir := filepath.Join(root, ".tracebloc-staging", table)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := "apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: tabular_classification\ntable: " + table +
		"\nintent: train\ncsv: /data/shared/.tracebloc-staging/" + table + "/labels.csv\nlabel: label\nschema: {id: INT, x: INT, label: VARCHAR(8)}\n" + dataID
	cfg := filepath.Join(t.TempDir(), "ingest.yaml")
	if err := os.WriteFile(cfg, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// data_id: a retried run re-claims its rows under content_hash and column,
// and inserts them again under uuid; a column's empty value skips its row.
func TestIngestDataID(t *testing.T) {
	const csv = "id,x,label\n1,5,a\n2,6,b\n3,7,a\n"
	for _, tc := range []struct {
		dataID, csv, wantLine string
		wantCode              int
	}{
		{"", csv, "the table holds 6 rows", 0},
		{"data_id: {strategy: uuid}\n", csv, "the table holds 6 rows", 0},
		{"data_id: {strategy: content_hash}\n", csv, "3 claimed again from an earlier attempt; the table holds 3 rows", 0},
		{"data_id: {strategy: column, column: id}\n", csv, "3 claimed again from an earlier attempt; the table holds 3 rows", 0},
		{"data_id: {strategy: column, column: nope}\n", csv, "unique_id_column 'nope' not found", 1},
		{"data_id: {strategy: column, column: id}\n", "id,x,label\n1,5,a\n,6,b\n3,7,a\n", "Skipped Records: 1", 0},
	} {
		root := t.TempDir()
		cfg := stageCSV(t, root, "fault_retry_t", tc.csv, tc.dataID)
		var first, second bytes.Buffer
		code := ingest(&first, cfg, root, "ingest-job-1", time.Sleep)
		if tc.wantCode != 0 {
			if code != tc.wantCode || !strings.Contains(first.String(), tc.wantLine) {
				t.Errorf("%q: exit %d, want %d with %q:\n%s", tc.dataID, code, tc.wantCode, tc.wantLine, first.String())
			}
			continue
		}
		if code != 1 || !strings.Contains(first.String(), "simulated crash") {
			t.Fatalf("%q: the first attempt should crash after inserting: exit %d\n%s", tc.dataID, code, first.String())
		}
		if code := ingest(&second, cfg, root, "ingest-job-1", time.Sleep); code != 0 || !strings.Contains(second.String(), tc.wantLine) {
			t.Errorf("%q: retry exit %d, want %q:\n%s", tc.dataID, code, tc.wantLine, second.String())
		}
	}
}

// Under PER_INGESTION_TABLES the stand-in refuses file-bearing tasks at
// submit with the ingestor's ValueError; tabular data goes through.
func TestSubmitPerIngestionTables(t *testing.T) {
	for _, v := range []string{"1", "TRUE", "Yes", "on"} {
		if !switchOn(v) {
			t.Errorf("%q is off", v)
		}
	}
	for _, v := range []string{"", "0", "false", "off", "2"} {
		if switchOn(v) {
			t.Errorf("%q is on", v)
		}
	}
	off, client := newServer(t, `["cats_"]`)
	s := &server{client: client, namespace: "tracebloc", release: "tracebloc", image: "standin:1", pvc: "client-pvc", log: io.Discard, perIngestionTables: true}
	on := httptest.NewServer(s.routes())
	t.Cleanup(on.Close)
	code, body := post(t, on.URL, "ingestor-token", "cats_on", "k-on")
	if code != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(body["detail"]), "file-bearing") {
		t.Errorf("switch on, an image task: %d %v", code, body)
	}
	if err := s.perIngestionRefusal("tabular_regression"); err != nil {
		t.Errorf("switch on, a tabular task: %v", err)
	}
	if code, body := post(t, off.URL, "ingestor-token", "cats_off", "k-off"); code != http.StatusCreated {
		t.Errorf("switch off: %d %v", code, body)
	}
}
