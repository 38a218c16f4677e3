package main

import (
	"fmt"
	"strings"
)

// fileBearing are the categories whose records carry files to copy: the
// client chart documents that per-ingestion tables refuse them.
var fileBearing = map[string]bool{
	"image_classification": true, "object_detection": true, "keypoint_detection": true, "semantic_segmentation": true,
	"text_classification": true, "token_classification": true, "sentence_pair_classification": true,
	"masked_language_modeling": true, "causal_language_modeling": true, "seq2seq": true, "embeddings": true,
}

// switchOn reads a switch as the ingestor does: 1, true, yes or on, any case.
func switchOn(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// perIngestionRefusal is the stand-in's refusal of a file-bearing category
// under per-ingestion tables, worded as the ingestor's ValueError.
func (s *server) perIngestionRefusal(category string) error {
	if !s.perIngestionTables || !fileBearing[category] {
		return nil
	}
	return fmt.Errorf("ValueError: per-ingestion tables (PER_INGESTION_TABLES) do not support file-bearing category %q: its files would have no per-run destination; disable perIngestionTables to ingest it", category)
}
