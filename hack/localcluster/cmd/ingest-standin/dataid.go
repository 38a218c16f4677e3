package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// dataID is the spec's data_id.
type dataID struct {
	Strategy string `json:"strategy"`
	Column   string `json:"column"`
}

// recordIDs gives each row of the CSV its data_id as the ingestor does:
// uuid a fresh random id, content_hash a hash of the row with a per-table
// salt kept on the volume, column the row's value there (a row without one
// is skipped: ""). A column the CSV lacks fails the run.
func recordIDs(csvPath, root, table string, d dataID) ([]string, error) {
	f, err := os.Open(csvPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("reading the header: %v", err)
	}
	col := -1
	if d.Strategy == "column" {
		for i, h := range header {
			if h == d.Column {
				col = i
			}
		}
		if col < 0 {
			return nil, fmt.Errorf("specified unique_id_column '%s' not found in CSV", d.Column)
		}
	}
	var salt string
	if d.Strategy == "content_hash" {
		if salt, err = tableSalt(root, table); err != nil {
			return nil, err
		}
	}
	var ids []string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return ids, nil
		}
		if err != nil {
			return nil, err
		}
		switch d.Strategy {
		case "column":
			v := ""
			if col < len(rec) {
				v = strings.TrimSpace(rec[col])
			}
			ids = append(ids, v)
		case "content_hash":
			h := sha256.Sum256([]byte(salt + "\x00" + strings.Join(rec, "\x1f")))
			ids = append(ids, hex.EncodeToString(h[:16]))
		default:
			ids = append(ids, randomID())
		}
	}
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// standinDB is where the stand-in keeps each table's rows (their data_ids):
// it has no database, and a retried run must find what an earlier attempt
// inserted.
func standinDB(root string) string { return filepath.Join(root, ".ingest-standin-db") }

// tableSalt is the table's random salt, made on first use; it never leaves
// the volume.
func tableSalt(root, table string) (string, error) {
	if err := os.MkdirAll(standinDB(root), 0o777); err != nil {
		return "", err
	}
	p := filepath.Join(standinDB(root), table+".salt")
	if b, err := os.ReadFile(p); err == nil && len(b) > 0 {
		return string(b), nil
	}
	s := randomID()
	return s, os.WriteFile(p, []byte(s), 0o666)
}

// insert adds rows by data_id to the table's stored rows, upserting: an id
// the table holds already is claimed again, not added. It returns how many
// were new and how many were claimed again, and the rows the table holds.
func insert(root, table string, ids []string) (added, reclaimed, held int, err error) {
	if err := os.MkdirAll(standinDB(root), 0o777); err != nil {
		return 0, 0, 0, err
	}
	p := filepath.Join(standinDB(root), table+".ids")
	have := map[string]bool{}
	if f, err := os.Open(p); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			have[sc.Text()] = true
		}
		f.Close()
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o666)
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	for _, id := range ids {
		if id == "" {
			continue
		}
		if have[id] {
			reclaimed++
			continue
		}
		have[id] = true
		added++
		if _, err := fmt.Fprintln(f, id); err != nil {
			return added, reclaimed, len(have), err
		}
	}
	return added, reclaimed, len(have), nil
}
