package parity

import "strings"

// Reasons a verdict may differ from the ingestor's.
const (
	// reasonV4: a rule of layout contract v4 or a later ingestor, which
	// the oracle (ingestor @476b67e) predates; the later rule wins.
	reasonV4 = "v4 rule the oracle predates"
	// reasonLater: the ingestor accepts the dataset, but it fails later;
	// the entry says where.
	reasonLater = "accepted by the ingestor, fails later"
)

// allowance lets the pre-flight differ from the ingestor on the datasets
// of one mutation.
type allowance struct {
	// task is the task, or a family ("image", "text", "tabular"), or ""
	// for every task; mutation the generator's name.
	task, mutation string
	// oursAccepts is the pre-flight's verdict the entry allows.
	oursAccepts bool
	kind        string
	why         string
}

// allowList is reviewed: each entry says why the pre-flight's verdict is
// the right one although the ingestor's differs.
var allowList = []allowance{
	{"causal_language_modeling", "latin1-text", false, reasonLater, "training: the trainer reads each text as UTF-8; the ingestor copies the file unread"},
	{"embeddings", "latin1-text", false, reasonLater, "training: the trainer reads each text as UTF-8; the ingestor copies the file unread"},
	{"embeddings", "record-empty-field", false, reasonV4, "layout contract record_format (enforced for this task); the oracle runs it as text_classification"},
	{"embeddings", "record-no-tab", false, reasonV4, "layout contract record_format (enforced for this task); the oracle runs it as text_classification"},
	{"embeddings", "text-two-lines", false, reasonV4, "layout contract record_format: one record a file (enforced); the oracle runs it as text_classification"},
	{"image_classification", "empty-label", false, reasonLater, "database: the empty label is read as NaN and bound as nan, which MySQL refuses (1054; the oracle refuses it so for the text tasks, whose ingest loop it runs); the oracle runs only validators for image tasks"},
	{"image_classification", "filename-uppercase-header", false, reasonLater, "ingest loop: the record has no filename, the file transfer fails; the oracle runs only validators for image tasks"},
	{"image_classification", "header-duplicate", false, reasonLater, "ingest loop: read_data refuses it (pandas on_bad_lines=error / ParserError / duplicate header); the oracle runs only validators for image tasks"},
	{"image_classification", "header-only", false, reasonLater, "backend: an empty table is refused (\"No data found for table\")"},
	{"image_classification", "header-upper-label", false, reasonLater, "training: the label column \"label\" is missing; the ingestor only warns (\"not found in record\") and stores every label as NULL, nothing a classifier can learn from (--label-column LABEL is the fix)"},
	{"image_classification", "image-upper-ext", false, reasonLater, "ingest loop: a row without an extension gets the spec's lower-case one, img_000.png, and the file is img_000.PNG (names are case-sensitive): the transfer finds no file and the run fails; the oracle runs only validators for image tasks"},
	{"image_classification", "missing-file", false, reasonLater, "ingest loop: the file transfer of that row fails and the run fails; the oracle runs only validators for image tasks"},
	{"image_classification", "nul-byte", false, reasonV4, "v4 §C15: a NUL byte anywhere in a CSV is refused (pandas cuts the field at it)"},
	{"image_classification", "one-label", false, reasonLater, "training: a classifier needs two classes (and the later ingestor's LabelDiversityValidator)"},
	{"image_classification", "ragged-long", false, reasonLater, "ingest loop: read_data refuses it (pandas on_bad_lines=error / ParserError / duplicate header); the oracle runs only validators for image tasks"},
	{"image_classification", "ragged-short", false, reasonLater, "database: pandas reads the missing label as NaN, bound as nan, which MySQL refuses (1054); the oracle runs only validators for image tasks"},
	{"keypoint_detection", "empty-label", false, reasonLater, "database: the empty label is read as NaN and bound as nan, which MySQL refuses (1054; the oracle refuses it so for the text tasks, whose ingest loop it runs); the oracle runs only validators for image tasks"},
	{"keypoint_detection", "escaped-comma", false, reasonLater, "ingest loop: pandas takes no escape right after a closing quote, so \"\u2026\"\\, IT is two fields and read_data fails (on_bad_lines=error); the validators read without the escape and skip the line; the oracle runs only validators for image tasks"},
	{"keypoint_detection", "filename-uppercase-header", false, reasonLater, "ingest loop: the record has no filename, the file transfer fails; the oracle runs only validators for image tasks"},
	{"keypoint_detection", "header-duplicate", false, reasonLater, "ingest loop: read_data refuses it (pandas on_bad_lines=error / ParserError / duplicate header); the oracle runs only validators for image tasks"},
	{"keypoint_detection", "header-upper-label", false, reasonLater, "training: the label column \"label\" is missing; the ingestor only warns (\"not found in record\") and stores every label as NULL, nothing a classifier can learn from (--label-column LABEL is the fix)"},
	{"keypoint_detection", "kp-outside", false, reasonLater, "training: a keypoint outside its image"},
	{"keypoint_detection", "missing-file", false, reasonLater, "ingest loop: the file transfer of that row fails and the run fails; the oracle runs only validators for image tasks"},
	{"keypoint_detection", "one-label", false, reasonLater, "training: a classifier needs two classes (and the later ingestor's LabelDiversityValidator)"},
	{"keypoint_detection", "ragged-long", false, reasonLater, "ingest loop: read_data refuses it (pandas on_bad_lines=error / ParserError / duplicate header); the oracle runs only validators for image tasks"},
	{"keypoint_detection", "unclosed-quote", false, reasonLater, "ingest loop: read_data refuses it (pandas on_bad_lines=error / ParserError / duplicate header); the oracle runs only validators for image tasks"},
	{"masked_language_modeling", "latin1-text", false, reasonLater, "training: the trainer reads each text as UTF-8; the ingestor copies the file unread"},
	{"object_detection", "voc-class-padded", false, reasonV4, "v4 §B11: class names are trimmed, then may hold no whitespace and no \":\""},
	{"object_detection", "voc-class-colon", false, reasonV4, "v4 §B11: a class name may hold no \":\" (the label cell is class:count pairs); the oracle predates it"},
	{"object_detection", "voc-class-space", false, reasonV4, "v4 §B11: a class name may hold no white space (pairs are joined by spaces); the oracle predates it"},
	{"object_detection", "voc-one-class", false, reasonV4, "v4 §B12: at least 2 distinct classes across the XML (the later ingestor's _validate_label_diversity)"},
	{"object_detection", "voc-outside", false, reasonLater, "training: a box past the image's edge (the tracebloc CLI pre-flight refuses it too; the validator only checks min < max)"},
	{"object_detection", "voc-upper-ext", false, reasonV4, "v4 §B7: annotations are read with the case-sensitive glob *.xml, so an .XML file pairs no image"},
	{"semantic_segmentation", "empty-label", false, reasonLater, "database: the empty label is read as NaN and bound as nan, which MySQL refuses (1054; the oracle refuses it so for the text tasks, whose ingest loop it runs); the oracle runs only validators for image tasks"},
	{"semantic_segmentation", "filename-uppercase-header", false, reasonLater, "ingest loop: the record has no filename, the file transfer fails; the oracle runs only validators for image tasks"},
	{"semantic_segmentation", "header-duplicate", false, reasonLater, "ingest loop: read_data refuses it (pandas on_bad_lines=error / ParserError / duplicate header); the oracle runs only validators for image tasks"},
	{"semantic_segmentation", "header-only", false, reasonLater, "backend: an empty table is refused (\"No data found for table\")"},
	{"semantic_segmentation", "header-upper-label", false, reasonLater, "training: the label column \"label\" is missing; the ingestor only warns (\"not found in record\") and stores every label as NULL, nothing a classifier can learn from (--label-column LABEL is the fix)"},
	{"semantic_segmentation", "mask-corrupt", false, reasonLater, "training: each mask is decoded at its image's size; the oracle runs only the validators, which do not open masks"},
	{"semantic_segmentation", "mask-id-empty", false, reasonLater, "ingest loop: the mask is found through mask_id (MaskIdColumnValidator in the later ingestor); the oracle runs only validators for image tasks"},
	{"semantic_segmentation", "mask-id-header", false, reasonLater, "ingest loop: the mask is found through mask_id (MaskIdColumnValidator in the later ingestor); the oracle runs only validators for image tasks"},
	{"semantic_segmentation", "mask-id-na", false, reasonLater, "ingest loop: the mask is found through mask_id (MaskIdColumnValidator in the later ingestor); the oracle runs only validators for image tasks"},
	{"semantic_segmentation", "mask-jpeg", false, reasonLater, "training: each mask is decoded at its image's size; the oracle runs only the validators, which do not open masks"},
	{"semantic_segmentation", "mask-other-size", false, reasonLater, "training: each mask is decoded at its image's size; the oracle runs only the validators, which do not open masks"},
	{"semantic_segmentation", "nul-byte", false, reasonV4, "v4 §C15: a NUL byte anywhere in a CSV is refused (pandas cuts the field at it)"},
	{"semantic_segmentation", "ragged-long", false, reasonLater, "ingest loop: read_data refuses it (pandas on_bad_lines=error / ParserError / duplicate header); the oracle runs only validators for image tasks"},
	{"semantic_segmentation", "ragged-short", false, reasonLater, "ingest loop: pandas reads the missing mask_id as NaN, the transfer finds no mask (\"No mask_id found in record\") and the run fails; the oracle runs only validators for image tasks"},
	{"sentence_pair_classification", "header-upper-label", false, reasonLater, "training: the label column \"label\" is missing; the ingestor only warns (\"not found in record\") and stores every label as NULL, nothing a classifier can learn from (--label-column LABEL is the fix)"},
	{"sentence_pair_classification", "latin1-text", false, reasonLater, "training: the trainer reads each text as UTF-8; the ingestor copies the file unread"},
	{"sentence_pair_classification", "nul-byte", false, reasonV4, "v4 §C15: a NUL byte anywhere in a CSV is refused (pandas cuts the field at it)"},
	{"sentence_pair_classification", "one-label", false, reasonLater, "training: a classifier needs two classes (and the later ingestor's LabelDiversityValidator)"},
	{"sentence_pair_classification", "record-empty-field", false, reasonV4, "layout contract record_format (enforced for this task); the oracle runs it as text_classification"},
	{"sentence_pair_classification", "record-no-tab", false, reasonV4, "layout contract record_format (enforced for this task); the oracle runs it as text_classification"},
	{"sentence_pair_classification", "record-three-fields", false, reasonV4, "layout contract record_format (enforced for this task); the oracle runs it as text_classification"},
	{"sentence_pair_classification", "text-two-lines", false, reasonV4, "layout contract record_format: one record a file (enforced); the oracle runs it as text_classification"},
	{"tabular_classification", "na-class-everywhere", false, reasonLater, "training: pandas reads the NA-word labels as missing, one class is left, and a classifier needs two (the later ingestor's LabelDiversityValidator)"},
	{"tabular_classification", "nul-byte", false, reasonV4, "v4 §C15: a NUL byte anywhere in a CSV is refused (pandas cuts the field at it)"},
	{"tabular_classification", "one-label", false, reasonLater, "training: a classifier needs two classes (and the later ingestor's LabelDiversityValidator)"},
	{"tabular_regression", "label-regression-text", false, reasonLater, "training: a regression target must be a number; the ingestor hashes any label (bucket policy) and stores it as text"},
	{"tabular_regression", "stray-quote", false, reasonLater, "training: the label holds a text value (a stray \" makes 12.3\"x) and the bucket policy bins numbers; the ingestor stores it as VARCHAR"},
	{"text_classification", "header-upper-label", false, reasonLater, "training: the label column \"label\" is missing; the ingestor only warns (\"not found in record\") and stores every label as NULL, nothing a classifier can learn from (--label-column LABEL is the fix)"},
	{"text_classification", "latin1-text", false, reasonLater, "training: the trainer reads each text as UTF-8; the ingestor copies the file unread"},
	{"text_classification", "nul-byte", false, reasonV4, "v4 §C15: a NUL byte anywhere in a CSV is refused (pandas cuts the field at it)"},
	{"text_classification", "one-label", false, reasonLater, "training: a classifier needs two classes (and the later ingestor's LabelDiversityValidator)"},
	{"time_series_classification", "label-spaces", false, reasonV4, "layout contract v3 grouping: a sequence has one label, and \" walk \" is not \"walk\" (pandas keeps the spaces); the oracle runs the task as tabular_classification"},
	{"time_series_classification", "nul-byte", false, reasonV4, "v4 §C15: a NUL byte anywhere in a CSV is refused (pandas cuts the field at it)"},
	{"time_series_classification", "stray-quote", false, reasonV4, "layout contract v3 grouping: a sequence has one label on every row, and the mutated cell (walka\"b, run\\n) is a label of its own; the oracle runs the task as tabular_classification"},
	{"time_series_classification", "timestamp-declared", false, reasonV4, "layout contract v3 grouping/ordering: sequence_id and timestamp, time ascending per sequence; the oracle runs the task as tabular_classification"},
	{"time_series_classification", "timestamp-empty", false, reasonV4, "layout contract v3 grouping/ordering: sequence_id and timestamp, time ascending per sequence; the oracle runs the task as tabular_classification"},
	{"time_series_classification", "timestamp-future", false, reasonV4, "layout contract v3 grouping/ordering: sequence_id and timestamp, time ascending per sequence; the oracle runs the task as tabular_classification"},
	{"time_series_classification", "timestamp-shape", false, reasonV4, "layout contract v3 grouping/ordering: sequence_id and timestamp, time ascending per sequence; the oracle runs the task as tabular_classification"},
	{"time_series_classification", "timestamp-unordered", false, reasonV4, "layout contract v3 grouping/ordering: sequence_id and timestamp, time ascending per sequence; the oracle runs the task as tabular_classification"},
	{"image", "image-corrupt", false, reasonLater, "training: decoding the cut image fails (image file is truncated); the ingestor's validator only opens the header, which a JPEG cut in its pixels still has"},
	{"image", "long-label", false, reasonLater, "database: label is String(255), MySQL refuses a longer value (1406; the oracle refuses it so for the text tasks); the oracle runs only validators for image tasks"},
	{"time_series_classification", "trailing-backslash", false, reasonV4, "layout contract v3 grouping: a sequence has one label on every row, and the mutated cell (walka\"b, run\\n) is a label of its own; the oracle runs the task as tabular_classification"},
	{"time_series_classification", "tsc-empty-id", false, reasonV4, "layout contract v3 grouping/ordering: sequence_id and timestamp, time ascending per sequence; the oracle runs the task as tabular_classification"},
	{"time_series_classification", "tsc-label-changes", false, reasonV4, "layout contract v3 grouping/ordering: sequence_id and timestamp, time ascending per sequence; the oracle runs the task as tabular_classification"},
	{"time_series_classification", "unclosed-quote", false, reasonV4, "layout contract v3 grouping: a sequence has one label on every row, and the mutated cell (walka\"b, run\\n) is a label of its own; the oracle runs the task as tabular_classification"},
	{"time_to_event_prediction", "label-regression-text", false, reasonLater, "training: the event indicator must be a number or a boolean (1 event, 0 censored); the ingestor hashes any label (bucket policy) and stores it as text"},
	{"time_to_event_prediction", "stray-quote", false, reasonLater, "training: the label holds a text value (a stray \" makes 12.3\"x) and the bucket policy bins numbers; the ingestor stores it as VARCHAR"},
	{"token_classification", "escaped-comma", false, reasonLater, "training: the ingest loop reads B-PER\\, IT as the label \"B-PER, IT\" (one tag more than words, IT no BIO tag); the BIO validator reads without the escape, finds a ragged line and skips it (on_bad_lines=warn)"},
	{"token_classification", "header-upper-label", false, reasonLater, "training: the label column \"label\" is missing; the ingestor only warns (\"not found in record\") and stores every label as NULL, nothing a classifier can learn from (--label-column LABEL is the fix)"},
	{"image", "trailing-backslash", false, reasonLater, "ingest loop: pandas reads a \\ before the line end as an escaped line break (escapechar), the row runs into the next and read_data fails (on_bad_lines=error); the oracle runs only validators for image tasks"},
	{"tabular", "unclosed-quote", false, reasonLater, "training: the label holds a text value (a stray \" makes 12.3\"x) and the bucket policy bins numbers; the ingestor stores it as VARCHAR"},
	{"seq2seq", "latin1-text", false, reasonLater, "training: the trainer reads each text as UTF-8; the ingestor copies the file unread"},
}

// allowedFor is the entry that covers s's disagreement, nil when none does.
// A pair of mutations is covered when either of them is.
func allowedFor(s *sample, oursAccepts bool) *allowance {
	parts := strings.SplitN(s.name, "/", 3)
	if len(parts) < 2 {
		return nil
	}
	for _, m := range strings.Split(parts[1], "+") {
		for i := range allowList {
			a := &allowList[i]
			if (a.task == "" || a.task == s.task || a.task == family(s.task)) && a.mutation == m && a.oursAccepts == oursAccepts {
				return a
			}
		}
	}
	return nil
}
