// Package ingest submits an ingestion run to the jobs-manager of a tracebloc
// client, follows it to its end, and reads the ingestor's summary banner.
package ingest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// BannerTitle opens the ingestor's summary banner.
const BannerTitle = "📊 INGESTION SUMMARY 📊"

// bannerRule closes the banner: a line of 60 "═".
var bannerRule = strings.Repeat("═", 60)

// Summary is what the ingestor's closing banner reports.
type Summary struct {
	IngestorID       string `json:"ingestor_id,omitempty"`
	Total            int64  `json:"total"`
	Processed        int64  `json:"processed"`
	Inserted         int64  `json:"inserted"`
	SentToAPI        int64  `json:"sent_to_api"`
	Skipped          int64  `json:"skipped"`
	TransferFailures int64  `json:"file_transfer_failures"`
	FailedInsert     int64  `json:"failed_db_insertion"`
	FailedSend       int64  `json:"failed_to_send_to_api"`
	// DestinationTable is the physical table (ds_<hex> with per-ingestion
	// tables); older ingestors do not print it.
	DestinationTable string `json:"destination_table,omitempty"`
}

// Line says the outcome of a run of table in one line, as the commands print it.
func (s Summary) Line(table string) string {
	dest := table
	if s.DestinationTable != "" && s.DestinationTable != table {
		dest = fmt.Sprintf("%s (physical table %s)", table, s.DestinationTable)
	}
	return fmt.Sprintf("ingested %d of %d records into %s; skipped %d, failures %d", s.Inserted, s.Total, dest, s.Skipped,
		s.FailedInsert+s.FailedSend+s.TransferFailures)
}

// Problems lists why the run counts as failed, in words; empty means clean.
func (s Summary) Problems() []string {
	var p []string
	if s.FailedInsert > 0 {
		p = append(p, fmt.Sprintf("%d records failed the database insertion", s.FailedInsert))
	}
	if s.FailedSend > 0 {
		p = append(p, fmt.Sprintf("%d records failed to reach the API", s.FailedSend))
	}
	if s.TransferFailures > 0 {
		p = append(p, fmt.Sprintf("%d files failed to transfer", s.TransferFailures))
	}
	if s.Skipped > 0 {
		p = append(p, fmt.Sprintf("%d records were skipped", s.Skipped))
	}
	if s.Inserted < s.Total {
		p = append(p, fmt.Sprintf("only %d of %d records were inserted", s.Inserted, s.Total))
	}
	if s.SentToAPI < s.Inserted {
		p = append(p, fmt.Sprintf("only %d of %d inserted records were sent to the API", s.SentToAPI, s.Inserted))
	}
	return p
}

// Clean reports whether the run finished with no failures at all.
func (s Summary) Clean() bool { return len(s.Problems()) == 0 }

// field labels, longest first where one label is a suffix of another.
var numericFields = []struct {
	label string
	set   func(*Summary, int64)
}{
	{"Total Records Found:", func(s *Summary, n int64) { s.Total = n }},
	{"Successfully Processed:", func(s *Summary, n int64) { s.Processed = n }},
	{"Inserted to Database:", func(s *Summary, n int64) { s.Inserted = n }},
	{"Failed to Send to API:", func(s *Summary, n int64) { s.FailedSend = n }},
	{"Sent to API:", func(s *Summary, n int64) { s.SentToAPI = n }},
	{"Skipped Records:", func(s *Summary, n int64) { s.Skipped = n }},
	{"File Transfer Failures:", func(s *Summary, n int64) { s.TransferFailures = n }},
	{"Failed DB Insertion:", func(s *Summary, n int64) { s.FailedInsert = n }},
}

// BannerParser reads a log line by line and picks the summary banner out of
// it. Log prefixes (time, level) before the banner's text are tolerated.
type BannerParser struct {
	in     bool
	fields int
	// counts has bit i set once numericFields[i] was read.
	counts uint
	done   bool
	s      Summary
}

// Add feeds one log line (without its newline).
func (b *BannerParser) Add(line string) {
	line = strings.TrimRight(line, "\r")
	if strings.Contains(line, BannerTitle) {
		// A later banner replaces an earlier one.
		*b = BannerParser{in: true}
		return
	}
	if !b.in {
		return
	}
	trimmed := strings.TrimSpace(line)
	if strings.HasSuffix(trimmed, bannerRule) && strings.Trim(trimmed[strings.LastIndex(trimmed, " ")+1:], "═") == "" {
		// The rule right under the title is a separator, not the end.
		if b.fields > 0 {
			// Only a banner that gave every count is whole: a missing
			// or unreadable one could hide failures.
			b.in, b.done = false, b.counts == 1<<len(numericFields)-1
		}
		return
	}
	if v, ok := after(line, "Ingestor ID:"); ok {
		b.s.IngestorID = v
		b.fields++
		return
	}
	if v, ok := after(line, "Destination table:"); ok {
		b.s.DestinationTable = v
		b.fields++
		return
	}
	for i, f := range numericFields {
		v, ok := after(line, f.label)
		if !ok {
			continue
		}
		b.fields++
		if n, err := parseCount(v); err == nil {
			f.set(&b.s, n)
			b.counts |= 1 << i
		}
		return
	}
}

// Summary returns the banner, and whether a whole one was seen.
func (b *BannerParser) Summary() (Summary, bool) { return b.s, b.done }

// ParseBanner finds the summary banner in a whole log.
func ParseBanner(log string) (Summary, bool) {
	var b BannerParser
	for _, line := range strings.Split(log, "\n") {
		b.Add(line)
	}
	return b.Summary()
}

func after(line, label string) (string, bool) {
	i := strings.Index(line, label)
	if i < 0 {
		return "", false
	}
	return strings.TrimSpace(line[i+len(label):]), true
}

// countRule is a count as the ingestor prints it: plain digits, or
// thousands separated by commas ("1,234").
var countRule = regexp.MustCompile(`^(\d+|\d{1,3}(,\d{3})+)$`)

// parseCount reads a count; anything else (a sign, spaces, words) is no
// count at all rather than a guess at one.
func parseCount(v string) (int64, error) {
	if !countRule.MatchString(v) {
		return 0, fmt.Errorf("%q is not a count", v)
	}
	return strconv.ParseInt(strings.ReplaceAll(v, ",", ""), 10, 64)
}
