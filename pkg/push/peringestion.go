package push

import (
	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
)

// warnPerIngestion warns before an image or text push to a jobs-manager
// that runs with per-ingestion tables: the client chart documents that
// this mode refuses file-bearing tasks, and some ingestor versions do
// (others have lifted it, and nothing public says which image does which),
// so the push goes on and a refusal at submit ends it with exit 8.
func warnPerIngestion(o Options, task category.Task, r *Report) {
	if r.Release == nil || !r.Release.PerIngestionTables || o.Ingest.StageOnly {
		return
	}
	if task.Family != category.FamilyImage && task.Family != category.FamilyText {
		return
	}
	w := "the jobs-manager runs with per-ingestion tables (PER_INGESTION_TABLES on), and the client chart documents that this mode refuses " +
		task.Family + " tasks such as " + task.Name + " (files to copy); the ingestor of this cluster may or may not refuse it: if the run is refused, ask the cluster's admin to turn perIngestionTables off, or push with --stage-only"
	o.Printer.Warnf("%s", w)
	r.Notes = append(r.Notes, w)
}
