package ingest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The closing banner as the ingestor prints it, once plain and once through a
// log formatter.
const cleanBanner = `Processing batch 3/3
════════════════════════════════════════════════════════════
📊 INGESTION SUMMARY 📊
════════════════════════════════════════════════════════════
Ingestor ID: 8c1f2e4a-77d0-4a43-9d55-0f4b2b1c9e10
📈 Total Records Found: 12,480
✅ Successfully Processed: 12,480
💾 Inserted to Database: 12,480
🚀 Sent to API: 12,480
⏭️  Skipped Records: 0
📁 File Transfer Failures: 0
❌ Failed DB Insertion: 0
❌ Failed to Send to API: 0
Destination table: ds_5e0c9a7b13f2
════════════════════════════════════════════════════════════
Ingestion finished`

const prefixedBanner = `2026-07-30 10:01:02,311 - INFO - ════════════════════════════════════════════════════════════
2026-07-30 10:01:02,311 - INFO - 📊 INGESTION SUMMARY 📊
2026-07-30 10:01:02,311 - INFO - ════════════════════════════════════════════════════════════
2026-07-30 10:01:02,312 - INFO - Ingestor ID: cats-01
2026-07-30 10:01:02,312 - INFO - 📈 Total Records Found: 1,000
2026-07-30 10:01:02,312 - INFO - ✅ Successfully Processed: 990
2026-07-30 10:01:02,312 - INFO - 💾 Inserted to Database: 990
2026-07-30 10:01:02,312 - INFO - 🚀 Sent to API: 985
2026-07-30 10:01:02,312 - INFO - ⏭️  Skipped Records: 7
2026-07-30 10:01:02,312 - INFO - 📁 File Transfer Failures: 1
2026-07-30 10:01:02,312 - INFO - ❌ Failed DB Insertion: 3
2026-07-30 10:01:02,312 - INFO - ❌ Failed to Send to API: 5
2026-07-30 10:01:02,313 - INFO - ════════════════════════════════════════════════════════════`

func TestParseBanner(t *testing.T) {
	tests := []struct {
		name     string
		log      string
		want     Summary
		wantDone bool
		problems int
	}{
		{
			name: "clean run with destination table",
			log:  cleanBanner,
			want: Summary{IngestorID: "8c1f2e4a-77d0-4a43-9d55-0f4b2b1c9e10", Total: 12480, Processed: 12480, Inserted: 12480,
				SentToAPI: 12480, DestinationTable: "ds_5e0c9a7b13f2"},
			wantDone: true,
		},
		{
			name: "log prefixes, failures, older ingestor without destination",
			log:  prefixedBanner,
			want: Summary{IngestorID: "cats-01", Total: 1000, Processed: 990, Inserted: 990, SentToAPI: 985, Skipped: 7,
				TransferFailures: 1, FailedInsert: 3, FailedSend: 5},
			wantDone: true,
			problems: 6,
		},
		{
			name: "cut off before the closing rule",
			log:  strings.Join(strings.Split(cleanBanner, "\n")[:8], "\n"),
			want: Summary{IngestorID: "8c1f2e4a-77d0-4a43-9d55-0f4b2b1c9e10", Total: 12480, Processed: 12480, Inserted: 12480},
			// Inserted equals total but nothing was sent yet.
			problems: 1,
		},
		{
			name:     "no banner",
			log:      "Traceback (most recent call last):\nValueError: table exists",
			problems: 0,
		},
		{
			name: "the last banner wins",
			log:  prefixedBanner + "\n" + cleanBanner,
			want: Summary{IngestorID: "8c1f2e4a-77d0-4a43-9d55-0f4b2b1c9e10", Total: 12480, Processed: 12480, Inserted: 12480,
				SentToAPI: 12480, DestinationTable: "ds_5e0c9a7b13f2"},
			wantDone: true,
		},
		{
			name:     "windows line ends",
			log:      strings.ReplaceAll(cleanBanner, "\n", "\r\n"),
			want:     Summary{IngestorID: "8c1f2e4a-77d0-4a43-9d55-0f4b2b1c9e10", Total: 12480, Processed: 12480, Inserted: 12480, SentToAPI: 12480, DestinationTable: "ds_5e0c9a7b13f2"},
			wantDone: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, done := ParseBanner(tt.log)
			if done != tt.wantDone {
				t.Errorf("done = %v, want %v", done, tt.wantDone)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
			if p := got.Problems(); len(p) != tt.problems {
				t.Errorf("problems = %q, want %d of them", p, tt.problems)
			}
		})
	}
}

func TestSummaryProblems(t *testing.T) {
	tests := []struct {
		name string
		s    Summary
		want []string
	}{
		{name: "clean", s: Summary{Total: 3, Processed: 3, Inserted: 3, SentToAPI: 3}},
		{name: "skipped", s: Summary{Total: 3, Inserted: 3, SentToAPI: 3, Skipped: 1}, want: []string{"1 records were skipped"}},
		{name: "short insert", s: Summary{Total: 3, Inserted: 2, SentToAPI: 2}, want: []string{"only 2 of 3 records were inserted"}},
		{name: "short send", s: Summary{Total: 3, Inserted: 3, SentToAPI: 1}, want: []string{"only 1 of 3 inserted records were sent to the API"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.s.Problems()); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if got := tt.s.Clean(); got != (len(tt.want) == 0) {
				t.Errorf("Clean() = %v", got)
			}
		})
	}
}
